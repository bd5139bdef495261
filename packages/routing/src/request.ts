/** What routing needs to know of a request. Header names are lower case (as node:http gives them). */
export interface RouteRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  /** The raw query string without `?`, or '' when there is none. */
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The client's SPIFFE ID (HBONE peer), for Istio's sourceNamespace match. */
  sourcePrincipal?: string | undefined;
}

/** The first value of each query parameter, decoded; computed at most once per request. */
export class QueryView {
  #query: string;
  #params: URLSearchParams | undefined;
  constructor(query: string) {
    this.#query = query;
  }
  get(name: string): string | null {
    this.#params ??= new URLSearchParams(this.#query);
    return this.#params.get(name);
  }
}

/** The query view of tables that match no query parameter: nothing is parsed. */
export const EMPTY_QUERY = new QueryView('');

export function headerValue(headers: RouteRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
