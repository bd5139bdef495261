import { formatDiagnostic, loadConfig, type LoadResult } from '../src/index.ts';

export function load(text: string, file = 'config.yaml'): LoadResult & { lines: string[] } {
  const result = loadConfig([{ file, text }], { defaultNamespace: 'default' });
  return { ...result, lines: result.diagnostics.map(formatDiagnostic) };
}

export const service = (name: string, ports = '[{ name: http, port: 80, targetPort: 8080 }]', ns = 'default') => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec:
  clusterIP: 10.0.0.${name.length}
  ports: ${ports}
`;

export const slice = (svc: string, addresses: string[], port = 8080, portName = 'http', ns = 'default') => `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${svc}-x, namespace: ${ns}, labels: { kubernetes.io/service-name: ${svc} } }
addressType: IPv4
ports: [{ name: ${portName}, port: ${port} }]
endpoints:
${addresses.map((a) => `  - addresses: [${a}]`).join('\n')}
`;

export const docs = (...parts: string[]) => parts.join('\n---\n');
