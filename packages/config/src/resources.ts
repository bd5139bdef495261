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

/** Lets resources in other namespaces refer to this namespace's resources (Gateway API). */
export interface ReferenceGrant {
  kind: 'ReferenceGrant';
  metadata: ObjectMeta;
  spec: {
    from: { group: string; kind: string; namespace: string }[];
    to: { group: string; kind: string; name?: string }[];
  };
}

export type Resource = Namespace | Service | EndpointSlice | Pod | Gateway | HTTPRoute | GRPCRoute | ReferenceGrant;
export type ResourceKind = Resource['kind'];
