import type { EndpointIR, HeaderModifierIR, RedirectIR, RewriteIR, ServiceIR, ServicePortIR } from '@waypoint/config';
import type { RoundRobin } from './balancer.ts';

/** Envoy response flags this package can decide on its own. */
export type LocalFlag = 'NR' | 'NC' | 'UH';

/** A request answered by the proxy itself, as Envoy would answer it. */
export interface LocalReply {
  kind: 'local';
  status: number;
  body: string;
  flag: LocalFlag;
  /** Envoy's %RESPONSE_CODE_DETAILS% */
  details: string;
  routeName: string;
}

/** A Service port to forward to, with its endpoint picker. Built once per config, shared by requests. */
export interface ServiceTarget {
  service: ServiceIR;
  port: ServicePortIR;
  /** Istio's cluster name, for logs: `inbound-vip|<port>|http|<hostname>`. */
  clusterName: string;
  endpoints: RoundRobin<EndpointIR>;
  /** Speak HTTP/2 with prior knowledge (h2c) to the endpoints: the port's appProtocol or name says http2, grpc or h2c. */
  http2: boolean;
}

/** What a rule's filters do to a forwarded request and its response. */
export interface RuleActions {
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
  rewrite?: RewriteIR;
  /** The PathPrefix value that matched, for ReplacePrefixMatch. */
  matchedPrefix?: string;
  /** Route timeout: from the end of the request to the end of the response. */
  timeoutMs?: number;
}

export interface Forward {
  kind: 'forward';
  target: ServiceTarget;
  routeName: string;
  actions?: RuleActions;
}

/** A RequestRedirect: the proxy answers with the status and a Location built from the request. */
export interface Redirect {
  kind: 'redirect';
  redirect: RedirectIR;
  matchedPrefix?: string;
  routeName: string;
}

/** Straight to one workload: traffic addressed to a pod IP rather than a Service. */
export interface Direct {
  kind: 'direct';
  endpoint: EndpointIR;
  clusterName: string;
  routeName: string;
}

export type RouteDecision = Forward | Direct | Redirect | LocalReply;

export function localReply(status: number, body: string, flag: LocalFlag, details: string, routeName = '-'): LocalReply {
  return { kind: 'local', status, body, flag, details, routeName };
}

export const NO_ROUTE = localReply(404, '', 'NR', 'route_not_found');
