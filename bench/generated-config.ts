/**
 * The generated config of the route benchmarks: `routes` HTTPRoutes over `services` Services (mesh
 * parents), each Service with two endpoints. Each route attaches to one Service and has four rules of the
 * kinds real configs have: an exact path, a prefix with a header match, a prefix with a query match and a
 * method (and a header modifier), and a regular expression, with a 90/10 weighted split on the prefix rule.
 * With `endpoint`, every Service has that one endpoint instead (a local backend, for load through the proxy).
 */
export function generateRouteConfig(routes: number, services: number, endpoint?: { address: string; port: number }): string {
  const docs: string[] = [];
  const targetPort = endpoint?.port ?? 8080;
  for (let s = 0; s < services; s++) {
    const ip = `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`;
    docs.push(`apiVersion: v1
kind: Service
metadata: { name: svc-${s}, namespace: default }
spec: { clusterIP: ${ip}, ports: [{ name: http, port: 80, targetPort: ${targetPort} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: svc-${s}-a, namespace: default, labels: { kubernetes.io/service-name: svc-${s} } }
addressType: IPv4
ports: [{ name: http, port: ${targetPort} }]
endpoints: ${endpoint ? `[{ addresses: [${endpoint.address}] }]` : `[{ addresses: [10.1.${s >> 8}.${s & 255}] }, { addresses: [10.2.${s >> 8}.${s & 255}] }]`}`);
  }
  for (let r = 0; r < routes; r++) {
    const s = r % services;
    const other = (s + 1) % services;
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: route-${r}, namespace: default, creationTimestamp: "2026-01-01T00:00:${String(r % 60).padStart(2, '0')}Z" }
spec:
  parentRefs: [{ group: "", kind: Service, name: svc-${s}, port: 80 }]
  rules:
  - matches: [{ path: { type: Exact, value: /api/r${r}/status } }]
    backendRefs: [{ name: svc-${s}, port: 80 }]
  - matches: [{ path: { type: PathPrefix, value: /api/r${r}/items }, headers: [{ name: x-version, value: v${r % 3} }] }]
    backendRefs: [{ name: svc-${s}, port: 80, weight: 90 }, { name: svc-${other}, port: 80, weight: 10 }]
  - matches: [{ path: { type: PathPrefix, value: /api/r${r} }, method: POST, queryParams: [{ name: debug, value: "1" }] }]
    filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: r${r} }] } }]
    backendRefs: [{ name: svc-${other}, port: 80 }]
  - matches: [{ path: { type: RegularExpression, value: "/v[0-9]+/r${r}/[a-z]+" } }]
    backendRefs: [{ name: svc-${s}, port: 80 }]`);
  }
  return docs.join('\n---\n');
}


/** One request of the generated mix: the Host it names and what a parser would have read. */
export interface GeneratedRequest {
  host: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** Whether a rule of the generated config matches it (the others are answered 404). */
  routed: boolean;
}

/** Deterministic pseudo-random numbers, so every run sends the same requests. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * `n` requests for the config of `generateRouteConfig(routes, services)`, each to a random Service and one
 * of its routes: one of each rule kind (exact path, prefix with its header, POST with the query parameter,
 * regular expression) or, one in five, a path no rule matches.
 */
export function generateRouteRequests(n: number, routes: number, services: number): GeneratedRequest[] {
  const rand = lcg(42);
  const routesPerService = Math.ceil(routes / services);
  const out: GeneratedRequest[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.floor(rand() * services);
    const r = s + services * Math.floor(rand() * routesPerService);
    const host = `svc-${s}.default.svc.cluster.local`;
    const kind = Math.floor(rand() * 5);
    const headers: Record<string, string> = { host, 'user-agent': 'bench', accept: '*/*', 'x-version': `v${r % 3}` };
    const [method, path, query] =
      kind === 0 ? ['GET', `/api/r${r}/status`, '']
      : kind === 1 ? ['GET', `/api/r${r}/items/42`, '']
      : kind === 2 ? ['POST', `/api/r${r}/orders`, 'debug=1&x=2']
      : kind === 3 ? ['GET', `/v2/r${r}/reviews`, '']
      : ['GET', `/unrouted/${i}`, ''];
    out.push({ host, method, path, query, headers, routed: kind !== 4 });
  }
  return out;
}

/** A request of the mix as HTTP/1.1 bytes (a POST carries an empty body). */
export function requestText(r: GeneratedRequest): string {
  const target = r.query ? `${r.path}?${r.query}` : r.path;
  const fields = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${r.method} ${target} HTTP/1.1\r\n${fields}${r.method === 'POST' ? 'content-length: 0\r\n' : ''}\r\n`;
}

/** The single Service `bench` (port 80, clusterIP `clusterIP`) whose one endpoint is `endpoint:port`: the config of the proxy benchmarks. */
export function benchServiceConfig(clusterIP: string, endpoint: string, port: number): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: bench }
spec: { clusterIP: ${clusterIP}, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: bench-1, labels: { kubernetes.io/service-name: bench } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: [${endpoint}] }]
`;
}
