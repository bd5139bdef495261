import { expect, it } from 'vitest';
import { classifyUpstreamError, upstreamFailureBody } from '../src/response-flags.ts';

const err = (code: string) => Object.assign(new Error(code), { code });

it.each([
  ['ECONNREFUSED', 503, 'UF', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 503, 'UF', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'],
  ['CERT_HAS_EXPIRED', 503, 'UF', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'],
  ['HBONE_CONNECT_REFUSED', 503, 'UF', 'upstream connect error or disconnect/reset before headers. reset reason: connection failure'],
  ['UPSTREAM_CONNECT_TIMEOUT', 503, 'UF', 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout'],
  ['UPSTREAM_CLOSED', 503, 'UC', 'upstream connect error or disconnect/reset before headers. reset reason: connection termination'],
  ['ECONNRESET', 503, 'UC', 'upstream connect error or disconnect/reset before headers. reset reason: connection termination'],
  ['HPE_INVALID_CONSTANT', 503, 'UPE', 'upstream connect error or disconnect/reset before headers. reset reason: protocol error'],
  ['HTTP2_REFUSED_STREAM', 503, 'UR', 'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset'],
])('%s → %i %s', (code, status, flag, body) => {
  const f = classifyUpstreamError(err(code));
  expect([f.status, f.flag, upstreamFailureBody(f)]).toEqual([status, flag, body]);
});

it('after retries, the body names the latest reset reason', () => {
  expect(upstreamFailureBody(classifyUpstreamError(err('ECONNREFUSED')), true)).toBe(
    'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure',
  );
});

