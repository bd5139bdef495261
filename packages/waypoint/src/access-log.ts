import type { AccessLogFormat } from './cli.ts';

/** What one request leaves for the access log; the field names follow Istio's JSON access-log keys. */
export interface AccessLogEntry {
  startTime: number;
  method: string;
  path: string;
  protocol: string;
  responseCode: number;
  responseFlags: string;
  responseCodeDetails: string;
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTimeMs?: number;
  xForwardedFor?: string;
  userAgent?: string;
  requestId?: string;
  authority?: string;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  downstreamLocalAddress: string;
  downstreamRemoteAddress: string;
  routeName?: string;
}

const dash = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));

/** Istio's default text format (EnvoyTextLogFormat). */
export function formatText(e: AccessLogEntry): string {
  return (
    `[${new Date(e.startTime).toISOString()}] "${e.method} ${e.path} ${e.protocol}" ${e.responseCode} ${e.responseFlags} ` +
    `${dash(e.responseCodeDetails)} ${dash(e.connectionTerminationDetails)} "${dash(e.upstreamTransportFailureReason)}" ` +
    `${e.bytesReceived} ${e.bytesSent} ${e.durationMs} ${dash(e.upstreamServiceTimeMs)} "${dash(e.xForwardedFor)}" "${dash(e.userAgent)}" ` +
    `"${dash(e.requestId)}" "${dash(e.authority)}" "${dash(e.upstreamHost)}" ${dash(e.upstreamCluster)} ${dash(e.upstreamLocalAddress)} ` +
    `${e.downstreamLocalAddress} ${e.downstreamRemoteAddress} - ${dash(e.routeName)}\n`
  );
}

/** Istio's JSON format (EnvoyJSONLogFormatIstio): absent values are null. */
export function formatJson(e: AccessLogEntry): string {
  const v = (x: string | number | undefined) => (x === undefined || x === '' ? null : x);
  return `${JSON.stringify({
    start_time: new Date(e.startTime).toISOString(),
    route_name: v(e.routeName),
    method: e.method,
    path: e.path,
    protocol: e.protocol,
    response_code: e.responseCode,
    response_flags: e.responseFlags,
    response_code_details: v(e.responseCodeDetails),
    connection_termination_details: v(e.connectionTerminationDetails),
    upstream_transport_failure_reason: v(e.upstreamTransportFailureReason),
    bytes_received: e.bytesReceived,
    bytes_sent: e.bytesSent,
    duration: e.durationMs,
    upstream_service_time: v(e.upstreamServiceTimeMs === undefined ? undefined : String(e.upstreamServiceTimeMs)),
    x_forwarded_for: v(e.xForwardedFor),
    user_agent: v(e.userAgent),
    request_id: v(e.requestId),
    authority: v(e.authority),
    upstream_host: v(e.upstreamHost),
    upstream_cluster: v(e.upstreamCluster),
    upstream_local_address: v(e.upstreamLocalAddress),
    downstream_local_address: e.downstreamLocalAddress,
    downstream_remote_address: e.downstreamRemoteAddress,
    requested_server_name: null,
  })}\n`;
}

/** Buffers lines and writes them in batches, so logging costs one write per tick rather than per request. */
export class AccessLog {
  readonly #format: (e: AccessLogEntry) => string;
  readonly #write: (chunk: string) => void;
  #buffer = '';
  #scheduled = false;

  constructor(format: Exclude<AccessLogFormat, 'off'>, write: (chunk: string) => void) {
    this.#format = format === 'json' ? formatJson : formatText;
    this.#write = write;
  }

  log(entry: AccessLogEntry): void {
    this.#buffer += this.#format(entry);
    if (this.#buffer.length > 65536) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (!this.#buffer) return;
    const chunk = this.#buffer;
    this.#buffer = '';
    this.#write(chunk);
  }
}
