import { crypto } from './builtins.ts';

/**
 * Connection-specific headers (RFC 9110 §7.6.1), never forwarded. `expect` is answered by this proxy
 * (100-continue) and not repeated upstream. `te` passes only as `trailers` (gRPC needs it).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'expect', 'http2-settings']);

/** tchar (RFC 9110 §5.6.2), the characters of header names and methods, as a regular-expression class. */
export const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const ONE_TCHAR = new RegExp(`^${TCHAR}$`);
/** tchar by character code. */
export const TOKEN_CHARS = Uint8Array.from({ length: 128 }, (_, c) => (ONE_TCHAR.test(String.fromCharCode(c)) ? 1 : 0));

/** Whether `s[from..to)` is a token (one or more tchar). */
export function isToken(s: string, from = 0, to = s.length): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

/** Optional whitespace around a header value (RFC 9110 §5.6.3): space or tab. */
export function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

/** A Content-Length value: 1 to 15 digits; -1 for anything else. */
export function decimal(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

export interface ForwardedFor {
  /** The address of the TCP peer, appended to `x-forwarded-for`. */
  peer: string;
  proto: 'http' | 'https';
}

export interface UpstreamRequestHeaders {
  /** Flat [name, value, ...] as undici takes them. */
  headers: string[];
  requestId: string;
  forwardedFor: string;
}

/** The header names the `Connection` headers of raw [name, value, …] list (lower case, close and keep-alive left out). */
export function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      const value = raw[i + 1]!;
      if (value === 'keep-alive' || value === 'close') continue; // nothing named to drop
      tokens ??= new Set();
      for (const t of value.split(',')) {
        const name = t.trim().toLowerCase();
        if (name && name !== 'close' && name !== 'keep-alive') tokens.add(name);
      }
    }
  }
  return tokens;
}

/** The headers sent upstream: hop-by-hop ones removed, x-forwarded-for appended, x-forwarded-proto set, x-request-id ensured. */
export function upstreamRequestHeaders(raw: readonly string[], fwd: ForwardedFor): UpstreamRequestHeaders {
  const drop = connectionTokens(raw);
  const out: string[] = [];
  let xff: string | undefined;
  let requestId: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue; // HTTP/2 pseudo-headers; the caller adds host
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'te' && value.trim().toLowerCase() === 'trailers') out.push('te', 'trailers');
      continue;
    }
    if (drop?.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === 'x-forwarded-proto') continue;
    if (lower === 'x-request-id') {
      if (requestId !== undefined) continue;
      requestId = value;
    }
    out.push(name, value);
  }
  if (requestId === undefined) {
    requestId = crypto.randomUUID();
    out.push('x-request-id', requestId);
  }
  const forwardedFor = xff === undefined ? fwd.peer : `${xff}, ${fwd.peer}`;
  out.push('x-forwarded-for', forwardedFor, 'x-forwarded-proto', fwd.proto);
  return { headers: out, requestId, forwardedFor };
}

/**
 * Response headers from upstream (flat [name, value, …], names lower-case) as a flat list for writeHead:
 * hop-by-hop removed, `server` replaced.
 */
export function downstreamResponseHeaders(headers: readonly string[], server: string, extra: readonly string[]): string[] {
  const drop = connectionTokens(headers);
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (HOP_BY_HOP.has(name) || name === 'server' || drop?.has(name)) continue;
    out.push(name, headers[i + 1]!);
  }
  out.push('server', server, ...extra);
  return out;
}

/** The first value of header `name` (lower case) in a flat list with lower-case names. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** The peer address as Envoy prints it: IPv4-mapped IPv6 addresses become plain IPv4. */
export function peerAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Up to this many bytes, a head and its body go out as one buffer: copying them costs less than the
 * vectored write (its chunk list, and the native side's copy of the head string into memory of its own).
 */
export const JOIN_LIMIT = 16 * 1024;

/** `head` (latin1), `body` and `tail` (latin1), in one buffer (from Node's buffer pool when small). */
export function joined(head: string, body: Buffer, tail = ''): Buffer {
  const out = Buffer.allocUnsafe(head.length + body.length + tail.length);
  const at = out.write(head, 0, 'latin1') + body.copy(out, head.length);
  if (tail !== '') out.write(tail, at, 'latin1');
  return out;
}
