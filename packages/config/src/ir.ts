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
  /** VirtualServices in force for some Service (not shadowed by an HTTPRoute, not in conflict). */
  virtualServices: VirtualServiceIR[];
  destinationRules: DestinationRuleIR[];
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
  | { kind: 'service'; service: string; port: number; weight: number; requestHeaders?: HeaderModifierIR; responseHeaders?: HeaderModifierIR }
  | { kind: 'invalid'; reason: string; weight: number };

/** Header names are lower case; `set` replaces, `add` appends, `remove` drops. */
export interface HeaderModifierIR {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export type PathModifierIR =
  | { type: 'ReplaceFullPath'; value: string }
  | { type: 'ReplacePrefixMatch'; value: string }
  /** Envoy's prefix_rewrite (Istio rewrite.uri after a prefix match): `prefix` is replaced as a plain string. */
  | { type: 'ReplacePlainPrefix'; prefix: string; value: string }
  /** Envoy's regex_rewrite (Istio uriRegexRewrite): every match of `pattern` is replaced; `\\1` names a group. */
  | { type: 'RegexRewrite'; pattern: string; substitution: string };

export interface RedirectIR {
  /**
   * The Location's port is the one the route serves (a Service or listener port), filled in by routing:
   * Istio's derivePort FROM_REQUEST_PORT, and its conversion of a Gateway API redirect with neither port
   * nor scheme. Without it and without `port`, the Location has no port of its own (Envoy's redirect
   * without port_redirect).
   */
  portFromRoute?: boolean;
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

/** A CORS policy, as Envoy's CORS filter applies it to the routes that carry it. */
export interface CorsIR {
  /** Empty: no origin is allowed. */
  allowOrigins: IstioStringMatchIR[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
  allowCredentials: boolean;
  /** A preflight whose origin is not allowed goes to the backend (true) or is answered here without CORS headers. */
  forwardUnmatchedPreflights: boolean;
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
  cors?: CorsIR;
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
  /** Each try's own timeout, when set; the route timeout still covers all tries. */
  perTryTimeoutMs?: number;
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

/** Istio's StringMatch; `present` is the empty one (`{}`) of a header or query parameter: it only has to be there. */
export interface IstioStringMatchIR {
  type: 'exact' | 'prefix' | 'regex' | 'present';
  value: string;
}

/** One VirtualService HTTP match: every condition must hold. Names of headers and query parameters are as written (headers lower case). */
export interface VsMatchIR {
  uri?: IstioStringMatchIR;
  ignoreUriCase: boolean;
  method?: IstioStringMatchIR;
  authority?: IstioStringMatchIR;
  scheme?: IstioStringMatchIR;
  headers: { name: string; match: IstioStringMatchIR }[];
  withoutHeaders: { name: string; match: IstioStringMatchIR }[];
  queryParams: { name: string; match: IstioStringMatchIR }[];
  port?: number;
  sourceNamespace?: string;
}

export type VsDestinationIR =
  | { kind: 'service'; service: string; port: number | undefined; subset?: string; weight: number; requestHeaders?: HeaderModifierIR; responseHeaders?: HeaderModifierIR }
  | { kind: 'invalid'; reason: string; weight: number };

export interface FaultIR {
  delay?: { ms: number; fraction: number };
  abort?: { httpStatus?: number; grpcStatus?: number; fraction: number };
}

export interface VsRouteIR {
  name?: string;
  /** Empty: matches every request. */
  matches: VsMatchIR[];
  action:
    | { kind: 'route'; destinations: VsDestinationIR[] }
    | { kind: 'redirect'; redirect: RedirectIR }
    | { kind: 'direct'; status: number; body: string };
  rewrite?: { uri?: string; authority?: string; uriRegex?: { match: string; rewrite: string } };
  timeoutMs?: number;
  retry?: RetryPolicyIR;
  fault?: FaultIR;
  cors?: CorsIR;
  mirrors: MirrorIR[];
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
}

export interface VirtualServiceIR {
  key: string;
  namespace: string;
  name: string;
  creationTimestamp?: string;
  /** Keys of the Services this VirtualService routes for. */
  services: string[];
  routes: VsRouteIR[];
}

export type HashKeyIR =
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string; path?: string; ttlSeconds?: number }
  | { kind: 'sourceIp' }
  | { kind: 'query'; name: string };

export interface LoadBalancerIR {
  simple?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';
  consistentHash?: { key: HashKeyIR; algorithm: { kind: 'ring'; minimumRingSize: number } | { kind: 'maglev'; tableSize: number } };
}

/** A DestinationRule's policy for a Service (or one subset, or one port): load balancing, and the resilience settings as written. */
export interface TrafficPolicyIR {
  loadBalancer?: LoadBalancerIR;
  /** connectionPool and outlierDetection as written: parsed and validated, enforced by the upstream layer. */
  connectionPool?: Record<string, unknown>;
  outlierDetection?: Record<string, unknown>;
  ports: { port: number; policy: Omit<TrafficPolicyIR, 'ports'> }[];
}

export interface DestinationRuleIR {
  key: string;
  /** The Service the rule's host names. */
  service: string;
  policy: TrafficPolicyIR;
  subsets: { name: string; labels: Record<string, string>; policy: TrafficPolicyIR }[];
}

/** The routes attached to each Service (by key, `namespace/name`), each in the order of `routes`. */
export function routesByService(routes: readonly HttpRouteIR[]): Map<string, HttpRouteIR[]> {
  const out = new Map<string, HttpRouteIR[]>();
  for (const route of routes) {
    for (const key of new Set(route.attachments.flatMap((a) => (a.kind === 'Service' ? [a.service] : [])))) {
      const list = out.get(key);
      if (list) list.push(route);
      else out.set(key, [route]);
    }
  }
  return out;
}
