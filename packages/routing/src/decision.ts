import type { EndpointIR, FaultIR, HashKeyIR, HeaderModifierIR, RedirectIR, RetryPolicyIR, RewriteIR, ServiceIR, ServicePortIR } from '@waypoint/config';
import type { EndpointPicker } from './balancer.ts';
import type { CorsPolicy } from './cors.ts';

/** Envoy response flags this package can decide on its own. */
export type LocalFlag = 'NR' | 'NC' | 'UH' | '-';

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
  /** Istio's cluster name, for logs: `inbound-vip|<port>|http|<hostname>` (`http/<subset>` for a subset). */
  clusterName: string;
  /** A DestinationRule subset, when the target is one. */
  subset?: string;
  endpoints: EndpointPicker;
  /** The consistent-hash key, when the DestinationRule's load balancer hashes. */
  hash?: HashKeyIR;
  /** The DestinationRule's connectionPool and outlierDetection for this target, as written, for the upstream layer. */
  resilience?: { connectionPool?: Record<string, unknown>; outlierDetection?: Record<string, unknown> };
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
  /** CORS (HTTPRoute CORS filter, VirtualService corsPolicy): preflights answered here, response headers added. */
  cors?: CorsPolicy;
  /** Istio fault injection: a delay and/or an abort, each for its share of requests. */
  fault?: FaultIR;
  /** RequestMirror: copies of the request to send, each to its share of requests; answers are discarded. */
  mirrors?: { target: ServiceTarget; fraction: number }[];
}

/** A retry policy compiled for the proxy: which failures and answers are retried, how often, how far apart. */
export interface RetryPolicy {
  numRetries: number;
  /** A connection to the endpoint could not be made (refused, unreachable, timed out, tunnel refused). */
  connectFailure: boolean;
  /** The connection was reset or closed before the response headers arrived. */
  reset: boolean;
  /** HTTP/2 REFUSED_STREAM. */
  refusedStream: boolean;
  /** Response statuses that are retried (5xx, gateway-error, retriable-4xx and the listed codes). */
  statuses: ReadonlySet<number>;
  /** gRPC statuses (in trailers-only responses) that are retried: 1 cancelled, 14 unavailable, … */
  grpcStatuses: ReadonlySet<number>;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Each try's timeout (0: none). A try that times out is retried when the policy retries resets or 504s. */
  perTryTimeoutMs: number;
  retriesTimeouts: boolean;
}

/** Compiles an Envoy-style retry policy. */
export function retryPolicy(ir: RetryPolicyIR): RetryPolicy {
  const on = new Set(ir.retryOn);
  const statuses = new Set<number>();
  if (on.has('5xx')) for (let s = 500; s < 600; s++) statuses.add(s);
  if (on.has('gateway-error')) [502, 503, 504].forEach((s) => statuses.add(s));
  if (on.has('retriable-4xx')) statuses.add(409);
  if (on.has('retriable-status-codes')) ir.codes.forEach((s) => statuses.add(s));
  const grpc = new Set<number>();
  const grpcCodes: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };
  for (const [name, code] of Object.entries(grpcCodes)) if (on.has(name)) grpc.add(code);
  return {
    numRetries: ir.numRetries,
    connectFailure: on.has('connect-failure') || on.has('5xx') || on.has('gateway-error') || on.has('reset'),
    reset: on.has('reset') || on.has('5xx'),
    refusedStream: on.has('refused-stream') || on.has('reset') || on.has('5xx'),
    statuses,
    grpcStatuses: grpc,
    backoffBaseMs: ir.backoffBaseMs,
    backoffMaxMs: ir.backoffBaseMs * 10,
    perTryTimeoutMs: ir.perTryTimeoutMs ?? 0,
    retriesTimeouts: on.has('reset') || statuses.has(504),
  };
}

/**
 * Istio's default retry policy for a waypoint's routes: 2 retries on connect-failure, refused-stream,
 * unavailable, cancelled and retriable-status-codes (no codes since Istio 1.24), 25 ms back-off, each retry
 * to a host not tried before when there is one.
 */
export const DEFAULT_RETRY = retryPolicy({
  numRetries: 2,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  codes: [],
  backoffBaseMs: 25,
});

export interface Forward {
  kind: 'forward';
  target: ServiceTarget;
  routeName: string;
  actions?: RuleActions;
  retry: RetryPolicy;
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
  retry: RetryPolicy;
}

export type RouteDecision = Forward | Direct | Redirect | LocalReply;

export function localReply(status: number, body: string, flag: LocalFlag, details: string, routeName = '-'): LocalReply {
  return { kind: 'local', status, body, flag, details, routeName };
}

export const NO_ROUTE = localReply(404, '', 'NR', 'route_not_found');
