import { describe, expect, it } from 'vitest';
import { downstreamResponseHeaders, joined, peerAddress, upstreamRequestHeaders } from '../src/headers.ts';

const pairs = (flat: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};

describe('upstream request headers', () => {
  it('removes hop-by-hop headers and those the Connection header names', () => {
    const { headers } = upstreamRequestHeaders(
      ['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5', 'X-Secret', 's', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'TE', 'gzip', 'Proxy-Connection', 'x', 'Expect', '100-continue', 'X-Kept', 'k', 'x-request-id', 'id-1'],
      { peer: '10.0.0.9', proto: 'http' },
    );
    expect(pairs(headers)).toEqual([
      ['Host', 'a'],
      ['X-Kept', 'k'],
      ['x-request-id', 'id-1'],
      ['x-forwarded-for', '10.0.0.9'],
      ['x-forwarded-proto', 'http'],
    ]);
  });

  it('keeps "te: trailers", which gRPC needs', () => {
    const { headers } = upstreamRequestHeaders(['te', 'trailers'], { peer: '1.1.1.1', proto: 'http' });
    expect(pairs(headers)[0]).toEqual(['te', 'trailers']);
  });

  it('appends to x-forwarded-for, replaces x-forwarded-proto, and generates a UUIDv4 x-request-id when absent', () => {
    const r = upstreamRequestHeaders(['X-Forwarded-For', '1.2.3.4', 'x-forwarded-for', '5.6.7.8', 'X-Forwarded-Proto', 'https'], { peer: '10.0.0.9', proto: 'http' });
    expect(r.forwardedFor).toBe('1.2.3.4, 5.6.7.8, 10.0.0.9');
    expect(r.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pairs(r.headers).filter(([n]) => n === 'x-forwarded-proto')).toEqual([['x-forwarded-proto', 'http']]);
  });
});

describe('downstream response headers', () => {
  it('drops hop-by-hop headers, replaces server, keeps repeated set-cookie', () => {
    const out = downstreamResponseHeaders(
      ['content-type', 'text/plain', 'connection', 'close, x-hop', 'x-hop', '1', 'transfer-encoding', 'chunked', 'server', 'nginx', 'set-cookie', 'a=1', 'set-cookie', 'b=2'],
      'istio-envoy',
      ['x-envoy-upstream-service-time', '3'],
    );
    expect(pairs(out)).toEqual([
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['server', 'istio-envoy'],
      ['x-envoy-upstream-service-time', '3'],
    ]);
  });
});

it('prints IPv4-mapped peers as IPv4', () => {
  expect(peerAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
  expect(peerAddress('::1')).toBe('::1');
});

it('joins a head and a body into one buffer, byte for byte, whatever the body holds', () => {
  const body = Buffer.from([0, 0xff, 0x80, 0x0d, 0x0a, 0x41]);
  const head = 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n';
  expect(joined(head, body).equals(Buffer.concat([Buffer.from(head, 'latin1'), body]))).toBe(true);
  // A second join does not disturb the first (small buffers share Node's pool).
  const first = joined(head, body);
  joined('x', Buffer.from('y'));
  expect(first.toString('latin1', 0, head.length)).toBe(head);
  expect(first.subarray(head.length).equals(body)).toBe(true);
  // With a tail: a chunk's size line, its data and the CRLF after it.
  expect(joined('6\r\n', body, '\r\n').equals(Buffer.concat([Buffer.from('6\r\n'), body, Buffer.from('\r\n')]))).toBe(true);
});
