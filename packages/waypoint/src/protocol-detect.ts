import type { Duplex } from 'node:stream';

export type TunnelProtocol = 'http1' | 'h2c' | 'tcp';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const HTTP1_LINE = /^[A-Z]{3,16} \S+ HTTP\/1\.[01]\r\n/;
const MAX_SNIFF = 8192;

/** Whether the first bytes of a connection are HTTP/2's connection preface; undefined while too few to tell. */
export function isH2Preface(buf: Buffer): boolean | undefined {
  if (buf.length === 0) return undefined;
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (!buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return false;
  return buf.length >= H2_PREFACE.length ? true : undefined;
}

/** Classifies the first bytes of a connection; undefined while more bytes are needed. */
export function classify(buf: Buffer): TunnelProtocol | undefined {
  const h2 = isH2Preface(buf);
  if (h2 !== false) return h2 ? 'h2c' : undefined;
  const first = buf[0]!;
  if (first < 0x41 || first > 0x5a) return 'tcp'; // an HTTP/1 request starts with an upper-case method
  const crlf = buf.indexOf('\r\n');
  if (crlf < 0) return buf.length >= MAX_SNIFF ? 'tcp' : undefined;
  return HTTP1_LINE.test(buf.subarray(0, crlf + 2).toString('latin1')) ? 'http1' : 'tcp';
}

/**
 * Reads from `stream` until `decide` can tell from its first bytes, puts those bytes back (the stream left
 * paused), and calls `done` with the answer. When the stream ends first, `ended` gets the bytes read (they
 * cannot be put back after the end).
 */
export function sniff<T>(stream: Duplex, decide: (buf: Buffer) => T | undefined, done: (result: T) => void, ended: (buf: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const result = decide(buf);
    if (result === undefined) return;
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.pause();
    if (buf.length) stream.unshift(buf);
    done(result);
  };
  const onEnd = () => {
    stream.off('data', onData);
    ended(buf);
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
}

/**
 * Reads from `stream` until its protocol is known, puts the bytes back, and calls `done`. Like Istio's
 * default, it waits for the client to speak (a server-first protocol must be declared on its port). A
 * client that finishes before its protocol is clear is relayed as TCP, with what it sent.
 */
export function detectProtocol(stream: Duplex, done: (p: TunnelProtocol, unread?: Buffer) => void): void {
  sniff(stream, classify, (p) => done(p), (buf) => done('tcp', buf));
}
