/** How an upstream failure shows to the client and in logs, after Envoy's router. */
export interface UpstreamFailure {
  status: number;
  flag: string;
  /** Envoy's reset reason, as it appears in the local-reply body. */
  reason: string;
  details: string;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRINUSE']);
const TERMINATIONS = new Set(['UPSTREAM_CLOSED', 'ECONNRESET', 'EPIPE', 'UPSTREAM_POOL_CLOSED', 'UPSTREAM_POOL_DESTROYED']);

/** TLS failures while reaching an HBONE peer (bad or unexpected certificate), and a refused CONNECT. */
const TLS_OR_TUNNEL_FAILURE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HBONE_CONNECT_REFUSED$)/;

export function classifyUpstreamError(err: Error): UpstreamFailure {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (CONNECT_FAILURES.has(code) || TLS_OR_TUNNEL_FAILURE.test(code)) return failure('UF', 'connection failure');
  if (code === 'UPSTREAM_CONNECT_TIMEOUT') return failure('UF', 'connection timeout');
  if (TERMINATIONS.has(code)) return failure('UC', 'connection termination');
  if (code === 'HTTP2_REFUSED_STREAM') return failure('UR', 'remote refused stream reset');
  return failure('UPE', 'protocol error');
}

function failure(flag: string, reason: string): UpstreamFailure {
  return { status: 503, flag, reason, details: `upstream_reset_before_response_started{${reason.replace(/ /g, '_')}}` };
}

/** Envoy's local-reply body for a failure; after retries it names the latest try's reason. */
export function upstreamFailureBody(f: UpstreamFailure, retried = false): string {
  return `upstream connect error or disconnect/reset before headers. ${retried ? 'retried and the latest reset reason' : 'reset reason'}: ${f.reason}`;
}
