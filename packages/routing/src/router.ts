import { CLUSTER_DOMAIN, routesByService, type ConfigIR, type DestinationRuleIR, type EndpointIR, type HttpRouteIR, type LoadBalancerIR, type ServiceIR, type ServicePortIR, type TrafficPolicyIR } from '@waypoint/config';
import { LeastRequest, Maglev, RandomPicker, RingHash, RoundRobin, type EndpointPicker } from './balancer.ts';
import { VsTable } from './virtual-service.ts';
import { portProtocol } from './protocols.ts';
import { DEFAULT_RETRY, NO_ROUTE, type Direct, type RouteDecision, type ServiceTarget } from './decision.ts';
import type { RouteRequest } from './request.ts';
import { RouteTable, type RuleRef, type UnreachableMatch } from './table.ts';
import { traceBackend, type DecisionTrace } from './explain.ts';
import { asciiLower, HASH_START, hashStep, StringTable } from './string-table.ts';

export interface RouterOptions {
  /** Namespace that short Service names (`reviews`) resolve against. */
  namespace: string;
}

/** Splits a Host header into a lower-case host name and an optional port. */
export function parseHost(host: string | undefined): { name: string; port: number | undefined } {
  if (!host) return { name: '', port: undefined };
  let name = host;
  let port: number | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    name = end > 0 ? host.slice(1, end) : host;
    if (end > 0 && host[end + 1] === ':') port = Number(host.slice(end + 2));
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0 && colon === host.lastIndexOf(':')) {
      name = host.slice(0, colon);
      port = Number(host.slice(colon + 1));
    }
  }
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) port = undefined;
  return { name: name.toLowerCase(), port };
}

/** What an HBONE CONNECT authority's address names. */
export type AddressTarget =
  | { kind: 'service'; service: ServiceIR; port: ServicePortIR | undefined }
  | { kind: 'workload'; address: string; pod?: string; serviceAccount?: string; appProtocol?: string };

/** A Service port, routed: the mesh (GAMMA) route table or Istio's default route to the Service itself. */
interface MeshPort {
  /** HTTPRoutes/GRPCRoutes (Gateway API precedence), or a VirtualService (its routes in order). */
  table: RouteTable | VsTable | undefined;
  fallback: RouteDecision;
}

/** A Service with its routed ports, found straight from a Host or an address. */
class MeshService {
  readonly service: ServiceIR;
  /** The first port in place (most Services have one), the others in arrays: a scan beats a Map. */
  #firstNumber = -1;
  #first: MeshPort | undefined = undefined;
  readonly #numbers: number[] = [];
  readonly #ports: MeshPort[] = [];
  constructor(service: ServiceIR) {
    this.service = service;
  }
  add(port: number, routed: MeshPort): void {
    if (this.#first === undefined) {
      this.#firstNumber = port;
      this.#first = routed;
      return;
    }
    this.#numbers.push(port);
    this.#ports.push(routed);
  }
  port(port: number): MeshPort | undefined {
    if (port === this.#firstNumber) return this.#first;
    const numbers = this.#numbers;
    for (let i = 0; i < numbers.length; i++) if (numbers[i] === port) return this.#ports[i];
    return undefined;
  }
  *entries(): Iterable<[number, MeshPort]> {
    if (this.#first) yield [this.#firstNumber, this.#first];
    for (let i = 0; i < this.#numbers.length; i++) yield [this.#numbers[i]!, this.#ports[i]!];
  }
}

class VirtualHosts {
  readonly exact = new Map<string, RouteTable>();
  readonly wildcard = new Map<string, RouteTable>(); // key: ".example.com" for "*.example.com"
  any: RouteTable | undefined;

  find(host: string): RouteTable | undefined {
    return this.findNamed(host)?.table;
  }

  /** The virtual host for `host`, with the hostname it was configured under. */
  findNamed(host: string): { name: string; table: RouteTable } | undefined {
    const exact = this.exact.get(host);
    if (exact) return { name: host, table: exact };
    if (this.wildcard.size) {
      // Longest suffix first: for a.b.example.com try .b.example.com, then .example.com, then .com.
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        const table = this.wildcard.get(host.slice(dot));
        if (table && dot > 0) return { name: `*${host.slice(dot)}`, table };
      }
    }
    return this.any ? { name: '*', table: this.any } : undefined;
  }
}

/** All routing decisions for one config snapshot: immutable except for load-balancer state. */
export class Router {
  /** `service:port:subset` → target, built on first use. */
  readonly #targets = new Map<string, ServiceTarget>();
  readonly #servicesByKey = new Map<string, ServiceIR>();
  readonly #podLabels = new Map<string, Record<string, string>>();
  readonly #rules = new Map<string, DestinationRuleIR>();
  /** Every DNS name and clusterIP of a Service (lower case) → the Service. */
  readonly #servicesByHost = new StringTable<MeshService>();
  readonly #mesh = new Map<ServiceIR, MeshService>();
  readonly #gateways = new Map<number, VirtualHosts>();
  readonly #servicesByIp = new Map<string, MeshService>();
  readonly #workloadsByIp = new Map<string, Omit<EndpointIR, 'port' | 'ready'>>();
  /** `ip:port` of an endpoint → its Service port's appProtocol (or name): a workload port's protocol. */
  readonly #workloadProtocols = new Map<string, string>();

  /** Compiles the route tables in the constructor, unless `deferred` (see build). */
  readonly #steps: Iterator<void>;

  constructor(ir: ConfigIR, options: RouterOptions, deferred = false) {
    for (const pod of ir.pods) {
      for (const ip of pod.ips) this.#workloadsByIp.set(ip, { address: ip, pod: pod.key, serviceAccount: pod.serviceAccount });
    }
    for (const svc of ir.services) {
      const mesh = new MeshService(svc);
      this.#mesh.set(svc, mesh);
      for (const ip of svc.clusterIPs) this.#servicesByIp.set(ip, mesh);
      for (const port of svc.ports) {
        for (const e of port.endpoints) {
          if (!this.#workloadsByIp.has(e.address)) this.#workloadsByIp.set(e.address, { address: e.address, ...(e.pod ? { pod: e.pod } : {}), ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}) });
          const key = `${e.address}:${e.port}`;
          if (!this.#workloadProtocols.has(key)) this.#workloadProtocols.set(key, port.appProtocol ?? port.name);
        }
      }
      for (const name of hostAliases(svc, options.namespace)) this.#servicesByHost.set(name, mesh);
    }
    for (const pod of ir.pods) this.#podLabels.set(pod.key, pod.labels);
    for (const dr of ir.destinationRules) this.#rules.set(dr.service, dr);
    for (const svc of ir.services) this.#servicesByKey.set(svc.key, svc);
    const lookup = (service: string, port: number) => this.#targetFor(service, port, undefined);
    this.#steps = this.#compile(ir, lookup);
    if (!deferred) while (!this.#steps.next().done);
  }

  /**
   * A Router built in slices of about `sliceMs`, yielding to the event loop between them, so that a large
   * config's route tables (hundreds of milliseconds for thousands of routes) do not hold up requests
   * meanwhile. It decides exactly as `new Router(ir, options)`.
   */
  static async build(ir: ConfigIR, options: RouterOptions, sliceMs = 20): Promise<Router> {
    const router = new Router(ir, options, true);
    let sliceStart = performance.now();
    while (!router.#steps.next().done) {
      if (performance.now() - sliceStart >= sliceMs) {
        await new Promise((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
    return router;
  }

  /** The route tables, one step per Service and per Gateway virtual host. */
  *#compile(ir: ConfigIR, lookup: (s: string, p: number) => ServiceTarget | undefined): Generator<void> {
    yield* this.#compileMesh(ir, lookup);
    yield* this.#compileGateways(ir.httpRoutes, lookup);
  }

  /**
   * The target for a Service port, or one DestinationRule subset of it: its ready endpoints (of the subset:
   * those whose Pod has the subset's labels) and the load balancer its DestinationRule asks for. Built once
   * per config and shared by every route that names it.
   */
  #targetFor(serviceKey: string, portNumber: number, subset: string | undefined): ServiceTarget | undefined {
    const cacheKey = `${serviceKey}:${portNumber}:${subset ?? ''}`;
    const cached = this.#targets.get(cacheKey);
    if (cached) return cached;
    const svc = this.#servicesByKey.get(serviceKey);
    const port = svc?.ports.find((p) => p.port === portNumber);
    if (!svc || !port) return undefined;
    const dr = this.#rules.get(serviceKey);
    const sub = subset !== undefined ? dr?.subsets.find((s) => s.name === subset) : undefined;
    if (subset !== undefined && !sub) return undefined;
    const inSubset = (e: EndpointIR) => {
      if (!sub || Object.keys(sub.labels).length === 0) return true;
      const labels = e.pod ? this.#podLabels.get(e.pod) : undefined;
      return !!labels && Object.entries(sub.labels).every(([k, v]) => labels[k] === v);
    };
    const endpoints = port.endpoints.filter((e) => e.ready && inSubset(e));
    const lb = policyFor(sub?.policy, portNumber) ?? policyFor(dr?.policy, portNumber);
    const setting = <K extends 'connectionPool' | 'outlierDetection'>(k: K) => settingFor(sub?.policy, portNumber, k) ?? settingFor(dr?.policy, portNumber, k);
    const connectionPool = setting('connectionPool');
    const outlierDetection = setting('outlierDetection');
    const target: ServiceTarget = {
      service: svc,
      port,
      clusterName: `inbound-vip|${port.port}|${subset ? `http/${subset}` : 'http'}|${svc.hostname}`,
      ...(subset ? { subset } : {}),
      endpoints: picker(endpoints, lb),
      ...(lb?.consistentHash ? { hash: lb.consistentHash.key } : {}),
      ...(connectionPool || outlierDetection ? { resilience: { ...(connectionPool ? { connectionPool } : {}), ...(outlierDetection ? { outlierDetection } : {}) } } : {}),
      http2: portProtocol(port.appProtocol ?? port.name) === 'http2',
    };
    this.#targets.set(cacheKey, target);
    return target;
  }

  *#compileMesh(ir: ConfigIR, lookup: (s: string, p: number) => ServiceTarget | undefined): Generator<void> {
    const routes = ir.httpRoutes;
    const vsByService = new Map(ir.virtualServices.flatMap((vs) => vs.services.map((s) => [s, vs] as const)));
    // A VirtualService destination without a port goes to the Service's only port, else to the port the request came for.
    const vsLookup = (service: string, port: number, subset: string | undefined) => {
      const svc = this.#servicesByKey.get(service);
      return this.#targetFor(service, svc?.ports.length === 1 ? svc.ports[0]!.port : port, subset);
    };
    // The routes attached to each Service, in config order, found once rather than per Service port.
    const attachedTo = routesByService(routes);
    for (const svc of ir.services) {
      const vs = vsByService.get(svc.key);
      const candidates = attachedTo.get(svc.key) ?? [];
      for (const port of svc.ports) {
        const rules: RuleRef[] = [];
        for (const route of candidates) {
          const attached = route.attachments.some((a) => a.kind === 'Service' && a.service === svc.key && (a.port === undefined || a.port === port.port));
          if (attached) route.rules.forEach((_, ruleIndex) => rules.push({ route, ruleIndex }));
        }
        const target = lookup(svc.key, port.port)!;
        this.#mesh.get(svc)!.add(port.port, {
          table: rules.length ? new RouteTable(rules, lookup, port.port) : vs ? new VsTable(vs, port.port, vsLookup) : undefined,
          fallback: { kind: 'forward', target, routeName: 'default', retry: DEFAULT_RETRY },
        });
      }
      yield;
    }
  }

  *#compileGateways(routes: readonly HttpRouteIR[], lookup: (s: string, p: number) => ServiceTarget | undefined): Generator<void> {
    const byPortHost = new Map<number, Map<string, Map<string, RuleRef[]>>>();
    for (const route of routes) {
      for (const a of route.attachments) {
        if (a.kind !== 'Gateway') continue;
        const hosts = byPortHost.get(a.port) ?? new Map<string, Map<string, RuleRef[]>>();
        byPortHost.set(a.port, hosts);
        for (const h of a.hostnames) {
          const perRoute = hosts.get(h) ?? new Map<string, RuleRef[]>();
          hosts.set(h, perRoute);
          // A route attached through several listeners of one port counts once per host.
          if (!perRoute.has(route.key)) perRoute.set(route.key, route.rules.map((_, ruleIndex) => ({ route, ruleIndex })));
        }
      }
    }
    for (const [port, hosts] of byPortHost) {
      const vhosts = new VirtualHosts();
      for (const [host, perRoute] of hosts) {
        const table = new RouteTable([...perRoute.values()].flat(), lookup, port);
        if (host === '*') vhosts.any = table;
        else if (host.startsWith('*.')) vhosts.wildcard.set(host.slice(1), table);
        else vhosts.exact.set(host, table);
        yield;
      }
      this.#gateways.set(port, vhosts);
    }
  }

  /**
   * Matches no request can reach, per parent: each has the same conditions as a match that precedes it
   * (the same rule twice, or two routes written alike — the older route wins, as the spec orders them).
   */
  unreachableMatches(): { parent: string; match: UnreachableMatch }[] {
    const out: { parent: string; match: UnreachableMatch }[] = [];
    for (const [svc, ports] of this.#mesh) {
      for (const [port, m] of ports.entries()) if (m.table instanceof RouteTable) for (const u of m.table.unreachable) out.push({ parent: `Service ${svc.key} port ${port}`, match: u });
    }
    for (const [port, vhosts] of this.#gateways) {
      const named: [string, RouteTable][] = [...vhosts.exact, ...[...vhosts.wildcard].map(([k, t]) => [`*${k}`, t] as [string, RouteTable]), ...(vhosts.any ? [['*', vhosts.any] as [string, RouteTable]] : [])];
      for (const [host, table] of named) for (const u of table.unreachable) out.push({ parent: `Gateway port ${port} host ${host}`, match: u });
    }
    return out;
  }

  /** What an HBONE destination `ip:port` is: a Service clusterIP (and its port), a known workload, or nothing. */
  resolveAddress(ip: string, port: number): AddressTarget | undefined {
    const svc = this.#servicesByIp.get(ip)?.service;
    if (svc) return { kind: 'service', service: svc, port: svc.ports.find((p) => p.port === port) };
    const w = this.#workloadsByIp.get(ip);
    if (!w) return undefined;
    // A workload's port protocol comes from the first Service port that targets it there.
    const appProtocol = this.#workloadProtocols.get(`${ip}:${port}`);
    return { kind: 'workload', address: ip, ...(w.pod ? { pod: w.pod } : {}), ...(w.serviceAccount ? { serviceAccount: w.serviceAccount } : {}), ...(appProtocol ? { appProtocol } : {}) };
  }

  /** A Service port's target (its endpoints and cluster name). */
  target(serviceKey: string, port: number): ServiceTarget | undefined {
    return this.#targetFor(serviceKey, port, undefined);
  }

  /** Routing for a request that arrived in an HBONE tunnel to `ip:port`. */
  routeAddress(ip: string, port: number, req: RouteRequest): RouteDecision {
    const mesh = this.#servicesByIp.get(ip);
    if (mesh) return routeMeshPort(mesh, port, req);
    const w = this.#workloadsByIp.get(ip);
    if (!w) return NO_ROUTE;
    const direct: Direct = {
      kind: 'direct',
      endpoint: { ...w, port, ready: true },
      clusterName: `inbound-pod|${port}||${ip}`,
      routeName: 'default',
      retry: DEFAULT_RETRY,
    };
    return direct;
  }

  /** The Service a Host header names (any of its DNS names, or its clusterIP), if any. */
  serviceForHost(hostName: string): ServiceIR | undefined {
    return this.#servicesByHost.get(hostName)?.service;
  }

  /** Gateway routing for a request accepted on a listener serving Gateway port `gatewayPort`. */
  routeGateway(gatewayPort: number, hostName: string, req: RouteRequest): RouteDecision {
    const table = this.#gateways.get(gatewayPort)?.find(hostName);
    return table ? table.decide(req) : NO_ROUTE;
  }

  /**
   * The decision for a request, explained: how its table was selected, every match in precedence order
   * with why it lost, and the chosen rule's backends. `via` is the plain listener's Gateway port, or the
   * destination of an HBONE tunnel.
   */
  explain(via: { kind: 'plain'; gatewayPort: number } | { kind: 'tunnel'; ip: string; port: number }, host: string | undefined, req: RouteRequest): DecisionTrace {
    const { name, port: hostPort } = parseHost(host);
    const request = { method: req.method, host, path: req.path, query: req.query };
    const selection: string[] = [];
    const done = (candidates: DecisionTrace['candidates'], backends: readonly { decision: RouteDecision; weight: number }[]): DecisionTrace => {
      const total = backends.reduce((sum, b) => sum + b.weight, 0);
      return { request, selection, candidates, backends: backends.filter((b) => b.weight > 0).map((b) => traceBackend(b.decision, b.weight, total, request, name, hostPort)) };
    };
    const mesh = (service: MeshService, port: number): DecisionTrace => {
      selection.push(`Service ${service.service.key} port ${port} (mesh routing)`);
      const m = service.port(port);
      if (!m) {
        selection.push(`the Service has no port ${port}`);
        return done([], [{ decision: NO_ROUTE, weight: 1 }]);
      }
      if (!m.table) {
        selection.push('no HTTPRoute or GRPCRoute is attached: Istio’s default route to the Service itself');
        return done([], [{ decision: m.fallback, weight: 1 }]);
      }
      const { candidates, backends } = m.table.explain(req);
      return done(candidates, backends);
    };
    if (via.kind === 'tunnel') {
      selection.push(`HBONE tunnel to ${via.ip}:${via.port}`);
      const service = this.#servicesByIp.get(via.ip);
      if (service) return mesh(service, via.port);
      if (this.#workloadsByIp.has(via.ip)) {
        selection.push('a workload address, not a Service: straight to it');
        return done([], [{ decision: this.routeAddress(via.ip, via.port, req), weight: 1 }]);
      }
      selection.push('no Service or workload has this address');
      return done([], [{ decision: NO_ROUTE, weight: 1 }]);
    }
    selection.push(`plain HTTP listener serving Gateway port ${via.gatewayPort}`);
    const service = this.#servicesByHost.get(name);
    if (service) {
      selection.push(`Host ${JSON.stringify(host)} names Service ${service.service.key}`);
      return mesh(service, hostPort ?? 80);
    }
    const vhosts = this.#gateways.get(via.gatewayPort);
    const found = vhosts?.findNamed(name);
    if (!found) {
      selection.push(vhosts ? `no Gateway listener hostname on port ${via.gatewayPort} takes ${JSON.stringify(name)}` : `no Gateway listener on port ${via.gatewayPort} has routes`);
      return done([], [{ decision: NO_ROUTE, weight: 1 }]);
    }
    selection.push(`Gateway routing, virtual host ${JSON.stringify(found.name)}`);
    const { candidates, backends } = found.table.explain(req);
    return done(candidates, backends);
  }

  /** The plain HTTP listener's rule: a Host naming a Service gets mesh routing, anything else Gateway routing. */
  routePlain(gatewayPort: number, host: string | undefined, req: RouteRequest): RouteDecision {
    // The common Host, `name` or `name:port`, is looked up in place; anything else (IPv6) takes parseHost.
    if (host && host.charCodeAt(0) !== 91 /* '[' */) {
      let h = HASH_START;
      let end = host.length;
      for (let i = 0; i < host.length; i++) {
        const c = host.charCodeAt(i);
        if (c === 58 /* ':' */) {
          end = i;
          break;
        }
        h = hashStep(h, asciiLower(c));
      }
      const mesh = this.#servicesByHost.getRangeLower(host, 0, end, h);
      if (mesh) {
        if (end === host.length) return routeMeshPort(mesh, 80, req);
        const port = parsePort(host, end + 1);
        if (port !== undefined) return routeMeshPort(mesh, port, req);
      }
    }
    const { name, port } = parseHost(host);
    const mesh = this.#servicesByHost.get(name);
    if (mesh) return routeMeshPort(mesh, port ?? 80, req);
    return this.routeGateway(gatewayPort, name, req);
  }
}

function routeMeshPort(mesh: MeshService, port: number, req: RouteRequest): RouteDecision {
  const routed = mesh.port(port);
  if (!routed) return NO_ROUTE;
  return routed.table ? routed.table.decide(req) : routed.fallback;
}

/** The decimal port at `s[start..]`, or undefined unless it is all digits and 1–65535. */
function parsePort(s: string, start: number): number | undefined {
  if (start >= s.length || s.length - start > 5) return undefined;
  let port = 0;
  for (let i = start; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    port = port * 10 + d;
  }
  return port > 0 && port < 65536 ? port : undefined;
}

/** The load balancer of a policy for one port: its port-level setting, else its own. */
function policyFor(policy: TrafficPolicyIR | undefined, port: number): LoadBalancerIR | undefined {
  if (!policy) return undefined;
  return policy.ports.find((p) => p.port === port)?.policy.loadBalancer ?? policy.loadBalancer;
}

function settingFor(policy: TrafficPolicyIR | undefined, port: number, key: 'connectionPool' | 'outlierDetection'): Record<string, unknown> | undefined {
  if (!policy) return undefined;
  return policy.ports.find((p) => p.port === port)?.policy[key] ?? policy[key];
}

function picker(endpoints: EndpointIR[], lb: LoadBalancerIR | undefined): EndpointPicker {
  const ch = lb?.consistentHash;
  if (ch) return ch.algorithm.kind === 'maglev' ? new Maglev(endpoints, ch.algorithm.tableSize) : new RingHash(endpoints, ch.algorithm.minimumRingSize);
  if (lb?.simple === 'RANDOM') return new RandomPicker(endpoints);
  if (lb?.simple === 'LEAST_REQUEST') return new LeastRequest(endpoints);
  if (lb?.simple === 'ROUND_ROBIN' || lb?.simple === 'PASSTHROUGH') return new RoundRobin(endpoints, () => true);
  // Istio's default for every cluster: LEAST_REQUEST.
  return new LeastRequest(endpoints);
}



function hostAliases(svc: ServiceIR, localNamespace: string): string[] {
  const names = [
    svc.hostname,
    `${svc.name}.${svc.namespace}.svc`,
    `${svc.name}.${svc.namespace}`,
    `${svc.name}.${svc.namespace}.svc.${CLUSTER_DOMAIN}`,
    ...svc.clusterIPs,
  ];
  if (svc.namespace === localNamespace) names.push(svc.name);
  return [...new Set(names.map((n) => n.toLowerCase()))];
}
