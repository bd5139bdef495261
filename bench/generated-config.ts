/**
 * The generated config of the route benchmarks: `routes` HTTPRoutes over `services` Services (mesh
 * parents), each Service with two endpoints. Each route attaches to one Service and has four rules of the
 * kinds real configs have: an exact path, a prefix with a header match, a prefix with a query match and a
 * method (and a header modifier), and a regular expression, with a 90/10 weighted split on the prefix rule.
 */
export function generateRouteConfig(routes: number, services: number): string {
  const docs: string[] = [];
  for (let s = 0; s < services; s++) {
    const ip = `10.${96 + (s >> 16)}.${(s >> 8) & 255}.${s & 255}`;
    docs.push(`apiVersion: v1
kind: Service
metadata: { name: svc-${s}, namespace: default }
spec: { clusterIP: ${ip}, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: svc-${s}-a, namespace: default, labels: { kubernetes.io/service-name: svc-${s} } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [10.1.${s >> 8}.${s & 255}] }, { addresses: [10.2.${s >> 8}.${s & 255}] }]`);
  }
  for (let r = 0; r < routes; r++) {
    const s = r % services;
    const other = (s + 1) % services;
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: route-${r}, namespace: default, creationTimestamp: "2026-01-01T00:00:${String(r % 60).padStart(2, '0')}Z" }
spec:
  parentRefs: [{ group: "", kind: Service, name: svc-${s}, port: 80 }]
  rules:
  - matches: [{ path: { type: Exact, value: /api/r${r}/status } }]
    backendRefs: [{ name: svc-${s}, port: 80 }]
  - matches: [{ path: { type: PathPrefix, value: /api/r${r}/items }, headers: [{ name: x-version, value: v${r % 3} }] }]
    backendRefs: [{ name: svc-${s}, port: 80, weight: 90 }, { name: svc-${other}, port: 80, weight: 10 }]
  - matches: [{ path: { type: PathPrefix, value: /api/r${r} }, method: POST, queryParams: [{ name: debug, value: "1" }] }]
    filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: x-route, value: r${r} }] } }]
    backendRefs: [{ name: svc-${other}, port: 80 }]
  - matches: [{ path: { type: RegularExpression, value: "/v[0-9]+/r${r}/[a-z]+" } }]
    backendRefs: [{ name: svc-${s}, port: 80 }]`);
  }
  return docs.join('\n---\n');
}


/** The single Service `bench` (port 80, clusterIP `clusterIP`) whose one endpoint is `endpoint:port`: the config of the proxy benchmarks. */
export function benchServiceConfig(clusterIP: string, endpoint: string, port: number): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: bench }
spec: { clusterIP: ${clusterIP}, ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: bench-1, labels: { kubernetes.io/service-name: bench } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: [${endpoint}] }]
`;
}
