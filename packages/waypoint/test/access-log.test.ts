import { describe, expect, it } from 'vitest';
import { AccessLog, formatJson, formatText, type AccessLogEntry } from '../src/access-log.ts';

const entry: AccessLogEntry = {
  startTime: Date.parse('2025-01-09T12:57:24.551Z'),
  method: 'GET',
  path: '/reviews/0',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  responseCodeDetails: 'via_upstream',
  bytesReceived: 0,
  bytesSent: 442,
  durationMs: 5,
  upstreamServiceTimeMs: 5,
  userAgent: 'Go-http-client/1.1',
  requestId: '9c1ea9ee',
  authority: 'reviews:9080',
  upstreamHost: '10.217.0.82:9080',
  upstreamCluster: 'inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local',
  downstreamLocalAddress: '10.217.5.70:9080',
  downstreamRemoteAddress: '10.217.0.84:53560',
  routeName: 'default',
};

describe('access log', () => {
  it("writes Istio's default text format", () => {
    expect(formatText(entry)).toBe(
      '[2025-01-09T12:57:24.551Z] "GET /reviews/0 HTTP/1.1" 200 - via_upstream - "-" 0 442 5 5 "-" "Go-http-client/1.1" "9c1ea9ee" "reviews:9080" "10.217.0.82:9080" inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local - 10.217.5.70:9080 10.217.0.84:53560 - default\n',
    );
  });

  it("writes Istio's JSON keys", () => {
    const j = JSON.parse(formatJson({ ...entry, responseFlags: 'UF', upstreamServiceTimeMs: undefined }));
    expect(j).toMatchObject({ method: 'GET', response_code: 200, response_flags: 'UF', upstream_service_time: null, route_name: 'default', authority: 'reviews:9080' });
    expect(Object.keys(j)).toContain('downstream_remote_address');
  });

  it('batches lines into few writes', async () => {
    const writes: string[] = [];
    const log = new AccessLog('text', (c) => writes.push(c));
    for (let i = 0; i < 10; i++) log.log(entry);
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.split('\n')).toHaveLength(11);
  });
});
