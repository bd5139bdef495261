/**
 * What a Service port speaks, from its appProtocol or, without one, its name (Istio's port naming:
 * `http`, `http2-web`, `grpc`, `tcp-db` …). undefined means undeclared: detect it.
 */
export type PortProtocol = 'http' | 'http2' | 'tcp';

const BY_NAME: Record<string, PortProtocol> = {
  http: 'http',
  'kubernetes.io/ws': 'http',
  http2: 'http2',
  grpc: 'http2',
  'grpc-web': 'http2',
  'kubernetes.io/h2c': 'http2',
  tcp: 'tcp',
  tls: 'tcp',
  https: 'tcp',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
  'kubernetes.io/wss': 'tcp',
};

export function portProtocol(appProtocolOrName: string | undefined): PortProtocol | undefined {
  if (!appProtocolOrName) return undefined;
  const p = appProtocolOrName.toLowerCase();
  return BY_NAME[p] ?? BY_NAME[p.split('-')[0]!];
}
