/** The Kubernetes resources the waypoint reads, typed after schema validation. Only fields it uses are listed. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string | null;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface Namespace {
  kind: 'Namespace';
  metadata: ObjectMeta;
}

export interface Service {
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {
    clusterIP?: string;
    clusterIPs?: string[];
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }[];
  };
}

export interface EndpointSlice {
  kind: 'EndpointSlice';
  metadata: ObjectMeta;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    targetRef?: { kind?: string; name?: string; namespace?: string };
  }[] | null;
  ports?: { name?: string; port?: number | null; protocol?: string; appProtocol?: string }[] | null;
}

export interface Pod {
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: { serviceAccountName?: string };
  status?: { podIP?: string; podIPs?: { ip?: string }[] };
}

export interface GatewayListener {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector'; selector?: LabelSelector };
    kinds?: { group?: string; kind: string }[];
  };
}

export interface Gateway {
  kind: 'Gateway';
  metadata: ObjectMeta;
  spec: { gatewayClassName: string; listeners: GatewayListener[] };
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface HTTPRouteMatch {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  headers?: { type?: 'Exact' | 'RegularExpression'; name: string; value: string }[];
  queryParams?: { type?: 'Exact' | 'RegularExpression'; name: string; value: string }[];
  method?: string;
}

export interface HTTPBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: HTTPRouteFilter[];
}

export interface HTTPHeaderModifier {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRouteFilter {
  type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestRedirect' | 'URLRewrite' | 'RequestMirror' | 'CORS' | 'ExtensionRef';
  requestHeaderModifier?: HTTPHeaderModifier;
  responseHeaderModifier?: HTTPHeaderModifier;
  requestRedirect?: { scheme?: 'http' | 'https'; hostname?: string; path?: HTTPPathModifier; port?: number; statusCode?: 301 | 302 | 303 | 307 | 308 };
  urlRewrite?: { hostname?: string; path?: HTTPPathModifier };
  requestMirror?: { backendRef: HTTPBackendRef; percent?: number; fraction?: { numerator: number; denominator?: number } };
  cors?: { allowOrigins?: string[]; allowCredentials?: boolean; allowMethods?: string[]; allowHeaders?: string[]; exposeHeaders?: string[]; maxAge?: number };
}

export interface HTTPRoute {
  kind: 'HTTPRoute';
  metadata: ObjectMeta;
  spec: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: {
      name?: string;
      matches?: HTTPRouteMatch[];
      filters?: HTTPRouteFilter[];
      backendRefs?: HTTPBackendRef[];
      timeouts?: { request?: string; backendRequest?: string };
      retry?: { codes?: number[]; attempts?: number; backoff?: string };
    }[];
  };
}

export interface GRPCMethodMatch {
  type?: 'Exact' | 'RegularExpression';
  service?: string;
  method?: string;
}

export interface GRPCRoute {
  kind: 'GRPCRoute';
  metadata: ObjectMeta;
  spec: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: {
      name?: string;
      matches?: { method?: GRPCMethodMatch; headers?: HTTPRouteMatch['headers'] }[];
      filters?: HTTPRouteFilter[];
      backendRefs?: HTTPBackendRef[];
    }[];
  };
}

/** Istio's StringMatch: exactly one field is set (the schema checks it). */
export interface IstioStringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface IstioHeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface IstioDestination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

export interface IstioHttpMatch {
  name?: string;
  uri?: IstioStringMatch;
  scheme?: IstioStringMatch;
  method?: IstioStringMatch;
  authority?: IstioStringMatch;
  headers?: Record<string, IstioStringMatch>;
  withoutHeaders?: Record<string, IstioStringMatch>;
  queryParams?: Record<string, IstioStringMatch>;
  port?: number;
  ignoreUriCase?: boolean;
  sourceNamespace?: string;
}

export interface IstioHttpRoute {
  name?: string;
  match?: IstioHttpMatch[];
  route?: { destination: IstioDestination; weight?: number; headers?: { request?: IstioHeaderOps; response?: IstioHeaderOps } }[];
  redirect?: { uri?: string; authority?: string; port?: number; derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT'; scheme?: string; redirectCode?: 301 | 302 | 303 | 307 | 308 };
  directResponse?: { status: number; body?: { string?: string; bytes?: string } };
  delegate?: { name: string; namespace?: string };
  rewrite?: { uri?: string; authority?: string; uriRegexRewrite?: { match: string; rewrite: string } };
  timeout?: string;
  retries?: { attempts?: number; perTryTimeout?: string; retryOn?: string; retryRemoteLocalities?: boolean; retryIgnorePreviousHosts?: boolean; backoff?: string };
  fault?: {
    delay?: { fixedDelay?: string; percentage?: { value?: number }; percent?: number };
    abort?: { httpStatus?: number; grpcStatus?: string; percentage?: { value?: number } };
  };
  mirror?: IstioDestination;
  mirrorPercentage?: { value?: number };
  mirrorPercent?: number;
  mirrors?: { destination: IstioDestination; percentage?: { value?: number } }[];
  headers?: { request?: IstioHeaderOps; response?: IstioHeaderOps };
  corsPolicy?: {
    allowOrigins?: IstioStringMatch[];
    allowOrigin?: string[];
    allowMethods?: string[];
    allowHeaders?: string[];
    exposeHeaders?: string[];
    maxAge?: string;
    allowCredentials?: boolean;
    unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
  };
}

export interface VirtualService {
  kind: 'VirtualService';
  metadata: ObjectMeta;
  spec: { hosts?: string[]; gateways?: string[]; http?: IstioHttpRoute[] };
}

export interface IstioLoadBalancer {
  simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
}

export interface IstioTrafficPolicy {
  loadBalancer?: IstioLoadBalancer;
  connectionPool?: Record<string, unknown>;
  outlierDetection?: Record<string, unknown>;
  portLevelSettings?: ({ port: { number: number } } & Omit<IstioTrafficPolicy, 'portLevelSettings'>)[];
}

export interface DestinationRule {
  kind: 'DestinationRule';
  metadata: ObjectMeta;
  spec: { host: string; trafficPolicy?: IstioTrafficPolicy; subsets?: { name: string; labels?: Record<string, string>; trafficPolicy?: IstioTrafficPolicy }[] };
}

/** Lets resources in other namespaces refer to this namespace's resources (Gateway API). */
export interface ReferenceGrant {
  kind: 'ReferenceGrant';
  metadata: ObjectMeta;
  spec: {
    from: { group: string; kind: string; namespace: string }[];
    to: { group: string; kind: string; name?: string }[];
  };
}

export type Resource = Namespace | Service | EndpointSlice | Pod | Gateway | HTTPRoute | GRPCRoute | ReferenceGrant | VirtualService | DestinationRule;
export type ResourceKind = Resource['kind'];
