/**
 * The intermediate representation: what the data plane needs, resolved from Kubernetes resources.
 * Plain JSON-serialisable data (it is what /config_dump shows); compiled forms live in routing.
 */
export interface ConfigIR {
  /** Namespace name → labels. Namespaces referenced by resources exist here even without a Namespace object. */
  namespaces: Record<string, Record<string, string>>;
  services: ServiceIR[];
  pods: PodIR[];
  gateways: GatewayIR[];
  httpRoutes: HttpRouteIR[];
}

export interface ServiceIR {
  /** `namespace/name` */
  key: string;
  namespace: string;
  name: string;
  /** `name.namespace.svc.cluster.local` */
  hostname: string;
  clusterIPs: string[];
  ports: ServicePortIR[];
}

export interface ServicePortIR {
  name: string;
  port: number;
  /** The Service's targetPort (a number, or a container port name resolved per endpoint by EndpointSlices). */
  targetPort: number | string;
  protocol: string;
  appProtocol?: string;
  endpoints: EndpointIR[];
}

export interface EndpointIR {
  address: string;
  port: number;
  ready: boolean;
  /** `namespace/name` of the Pod behind the address, when the EndpointSlice names it. */
  pod?: string;
  serviceAccount?: string;
}

export interface PodIR {
  key: string;
  namespace: string;
  name: string;
  ips: string[];
  labels: Record<string, string>;
  serviceAccount: string;
}

export interface GatewayIR {
  key: string;
  namespace: string;
  name: string;
  className: string;
  listeners: ListenerIR[];
}

export interface ListenerIR {
  name: string;
  port: number;
  protocol: string;
  hostname?: string;
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';
export type ValueMatchType = 'Exact' | 'RegularExpression';

export interface HttpMatchIR {
  path: { type: PathMatchType; value: string };
  /** Header names are lower case. */
  headers: { type: ValueMatchType; name: string; value: string }[];
  queryParams: { type: ValueMatchType; name: string; value: string }[];
  method?: string;
}

export type BackendIR =
  | { kind: 'service'; service: string; port: number; weight: number }
  | { kind: 'invalid'; reason: string; weight: number };

/** Header names are lower case; `set` replaces, `add` appends, `remove` drops. */
export interface HeaderModifierIR {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export type PathModifierIR = { type: 'ReplaceFullPath'; value: string } | { type: 'ReplacePrefixMatch'; value: string };

export interface RedirectIR {
  scheme?: 'http' | 'https';
  hostname?: string;
  path?: PathModifierIR;
  port?: number;
  statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface RewriteIR {
  hostname?: string;
  path?: PathModifierIR;
}

/** A copy of each request sent, without waiting for its answer, to another Service port. */
export interface MirrorIR {
  service: string;
  port: number;
  /** Share of requests mirrored, 0–1. */
  fraction: number;
}

/** The Gateway API filters of a rule that this project applies. */
export interface HttpFiltersIR {
  mirrors?: MirrorIR[];
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
  redirect?: RedirectIR;
  rewrite?: RewriteIR;
}

/**
 * A retry policy, in Envoy's terms. `retryOn` holds Envoy retry conditions (`connect-failure`,
 * `refused-stream`, `unavailable`, `cancelled`, `retriable-status-codes`, `5xx`, `gateway-error`, `reset`,
 * `retriable-4xx`); `codes` are the retriable status codes.
 */
export interface RetryPolicyIR {
  /** Retries after the first try; 0 disables retrying. */
  numRetries: number;
  retryOn: string[];
  codes: number[];
  /** Base of the jittered exponential back-off; the cap is ten times it, as Envoy's. */
  backoffBaseMs: number;
}

export interface HttpRuleIR {
  name?: string;
  matches: HttpMatchIR[];
  filters: HttpFiltersIR;
  backends: BackendIR[];
  /** The route timeout in milliseconds (Envoy's route `timeout`); absent means none, as Istio's default. */
  timeoutMs?: number;
  /** The rule's own retry policy; absent means the waypoint's default (Istio's). */
  retry?: RetryPolicyIR;
}

/** Where a route is attached, after the parent accepted it. */
export type RouteAttachmentIR =
  | { kind: 'Service'; service: string; port?: number }
  | { kind: 'Gateway'; gateway: string; listener: string; port: number; hostnames: string[] };

export interface RouteConditionIR {
  type: 'Accepted' | 'ResolvedRefs';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface RouteParentStatusIR {
  parentRef: { group: string; kind: string; namespace: string; name: string; sectionName?: string; port?: number };
  conditions: RouteConditionIR[];
}

/** An HTTPRoute, or a GRPCRoute converted to HTTP matches (`kind: 'GRPCRoute'`). */
export interface HttpRouteIR {
  kind?: 'GRPCRoute';
  key: string;
  namespace: string;
  name: string;
  creationTimestamp?: string;
  hostnames: string[];
  rules: HttpRuleIR[];
  attachments: RouteAttachmentIR[];
  status: RouteParentStatusIR[];
}
