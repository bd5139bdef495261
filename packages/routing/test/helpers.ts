import { formatDiagnostic, loadConfig } from '@waypoint/config';
import { Router, type RouteDecision, type RouteRequest } from '../src/index.ts';

/** A Service `name` with one port 80 whose endpoints are the given addresses (port 8080). */
export function svc(name: string, addresses: string[] = ['10.0.0.1'], ns = 'default', clusterIP = '10.96.0.1'): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns} }
spec: { clusterIP: ${clusterIP}, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-s, namespace: ${ns}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [${addresses.map((a) => `{ addresses: [${a}] }`).join(', ')}]
`;
}

export function httpRoute(name: string, spec: string, extraMeta = ''): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: default ${extraMeta} }
spec: ${spec}
`;
}

export function router(...parts: string[]): Router {
  const result = loadConfig([{ file: 'test.yaml', text: parts.join('\n---\n') }], { defaultNamespace: 'default' });
  if (!result.ir) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return new Router(result.ir, { namespace: 'default' });
}

export function request(target: string, init: { method?: string; headers?: Record<string, string> } = {}): RouteRequest {
  const q = target.indexOf('?');
  return {
    method: init.method ?? 'GET',
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers: Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** Where a decision sends the request: the Service name, or `status:<code>`. */
export function where(d: RouteDecision): string {
  return d.kind === 'forward' ? d.target.service.name : d.kind === 'direct' ? `direct:${d.endpoint.address}` : d.kind === 'redirect' ? `redirect:${d.redirect.statusCode}` : `status:${d.status}`;
}
