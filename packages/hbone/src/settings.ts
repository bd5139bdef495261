/** HTTP/2 and timing parameters for HBONE, chosen to interoperate with ztunnel (see docs/hbone.md). */
export const HBONE = {
  /** ztunnel's HTTP2_STREAM_WINDOW_SIZE */
  streamWindow: 4 * 1024 * 1024,
  /** ztunnel's connection window */
  connectionWindow: 16 * 1024 * 1024,
  /** Streams this side accepts per connection (ztunnel's server allows 200; Envoy's waypoint 100). */
  maxConcurrentStreams: 1000,
  /** Streams this side opens per connection before starting another (ztunnel's pool limit). */
  maxStreamsPerConnection: 100,
  /** ztunnel's server accepts 64 KiB of headers. */
  maxHeaderListSize: 64 * 1024,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 20_000,
  handshakeTimeoutMs: 10_000,
  /** Idle pooled upstream connections are closed after 5 minutes, as ztunnel does. */
  idleTimeoutMs: 5 * 60_000,
  connectTimeoutMs: 10_000,
} as const;
