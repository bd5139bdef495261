import { fieldPath, type Diagnostic } from './diagnostics.ts';
import { intersectHostnames } from './hostnames.ts';
import type {
  BackendIR,
  ConfigIR,
  EndpointIR,
  GatewayIR,
  HeaderModifierIR,
  HttpFiltersIR,
  HttpMatchIR,
  HttpRouteIR,
  PathModifierIR,
  HttpRuleIR,
  PodIR,
  RetryPolicyIR,
  RouteAttachmentIR,
  RouteConditionIR,
  RouteParentStatusIR,
  ServiceIR,
} from './ir.ts';
import { compileRegex } from './regex.ts';
import { translateDestinationRules, translateVirtualServices } from './translate-istio.ts';
import type { EndpointSlice, Gateway, GRPCMethodMatch, GRPCRoute, HTTPBackendRef, ObjectMeta, ReferenceGrant, HTTPHeaderModifier, HTTPPathModifier, HTTPRoute, HTTPRouteFilter, HTTPRouteMatch, Namespace, ParentReference, Pod, Service } from './resources.ts';
import { selectorMatches } from './selectors.ts';
import type { SourcedResource } from './validate.ts';

export const CLUSTER_DOMAIN = 'cluster.local';
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type Path = (string | number)[];

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  add(severity: Diagnostic['severity'], src: SourcedResource, path: Path, message: string): void {
    const { line, col } = src.doc.locate([...src.base, ...path]);
    this.diagnostics.push({
      severity,
      file: src.doc.file,
      line,
      col,
      resource: src.id,
      ...(path.length ? { field: fieldPath(path) } : {}),
      message,
    });
  }
}

/** Resolves validated resources into the IR, reporting what is inconsistent between them. */
export function translate(sourced: readonly SourcedResource[]): { ir: ConfigIR; diagnostics: Diagnostic[] } {
  const report = new Reporter();
  const unique = dedupe(sourced, report);
  const of = <K extends SourcedResource['resource']['kind']>(kind: K) =>
    unique.filter((s) => s.resource.kind === kind) as (SourcedResource & { resource: Extract<SourcedResource['resource'], { kind: K }> })[];

  const namespaces = translateNamespaces(of('Namespace'), unique);
  const pods = of('Pod').map((s) => translatePod(s.resource));
  const services = translateServices(of('Service'), of('EndpointSlice'), pods, report);
  const gateways = of('Gateway').map((s) => translateGateway(s, report));
  const gatewaySpecs = new Map(of('Gateway').map((s) => [`${s.resource.metadata.namespace}/${s.resource.metadata.name}`, s.resource]));
  const referenceGrants = of('ReferenceGrant').map((s) => s.resource);
  const serviceByKey = new Map(services.map((s) => [s.key, s]));
  const routeCtx: RouteContext = { namespaces, services: serviceByKey, gateways, gatewaySpecs, referenceGrants };
  const httpRoutes = [...of('HTTPRoute').map((s) => translateHttpRoute(s, routeCtx, report)), ...of('GRPCRoute').map((s) => translateGrpcRoute(s, routeCtx, report))];
  const destinationRules = translateDestinationRules(of('DestinationRule'), serviceByKey, report);
  const subsets = new Map(destinationRules.map((d) => [d.service, new Set(d.subsets.map((s) => s.name))]));
  const virtualServices = translateVirtualServices(of('VirtualService'), { services: serviceByKey, httpRoutes, subsets }, report);
  return { ir: { namespaces, services, pods, gateways, httpRoutes, virtualServices, destinationRules }, diagnostics: report.diagnostics };
}

function dedupe(sourced: readonly SourcedResource[], report: Reporter): SourcedResource[] {
  const seen = new Map<string, SourcedResource>();
  const out: SourcedResource[] = [];
  for (const s of sourced) {
    const first = seen.get(s.id);
    if (first) {
      const at = first.doc.locate(first.base);
      report.add('error', s, [], `duplicate resource: already defined at ${first.doc.file}:${at.line}:${at.col}`);
      continue;
    }
    seen.set(s.id, s);
    out.push(s);
  }
  return out;
}

function translateNamespaces(objects: { resource: Namespace }[], all: readonly SourcedResource[]): ConfigIR['namespaces'] {
  const out: ConfigIR['namespaces'] = {};
  for (const s of all) {
    const ns = s.resource.metadata.namespace;
    if (ns) out[ns] = { 'kubernetes.io/metadata.name': ns };
  }
  for (const { resource } of objects) {
    const name = resource.metadata.name;
    out[name] = { ...resource.metadata.labels, 'kubernetes.io/metadata.name': name };
  }
  return out;
}

function translatePod(pod: Pod): PodIR {
  const ips = new Set<string>();
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  for (const p of pod.status?.podIPs ?? []) if (p.ip) ips.add(p.ip);
  const namespace = pod.metadata.namespace!;
  return {
    key: `${namespace}/${pod.metadata.name}`,
    namespace,
    name: pod.metadata.name,
    ips: [...ips],
    labels: { ...pod.metadata.labels },
    serviceAccount: pod.spec.serviceAccountName || 'default',
  };
}

function translateServices(
  services: (SourcedResource & { resource: Service })[],
  slices: (SourcedResource & { resource: EndpointSlice })[],
  pods: PodIR[],
  report: Reporter,
): ServiceIR[] {
  const podsByKey = new Map(pods.map((p) => [p.key, p]));
  const podsByIp = new Map(pods.flatMap((p) => p.ips.map((ip) => [`${p.namespace}/${ip}`, p] as const)));
  const slicesByService = new Map<string, (SourcedResource & { resource: EndpointSlice })[]>();
  const serviceKeys = new Set(services.map((s) => `${s.resource.metadata.namespace}/${s.resource.metadata.name}`));

  for (const s of slices) {
    const svcName = s.resource.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svcName) {
      report.add('warning', s, ['metadata', 'labels'], `has no ${SERVICE_NAME_LABEL} label, so no Service uses it; ignored`);
      continue;
    }
    const key = `${s.resource.metadata.namespace}/${svcName}`;
    if (!serviceKeys.has(key)) {
      report.add('warning', s, ['metadata', 'labels', SERVICE_NAME_LABEL], `names Service ${key}, which is not in the config; ignored`);
      continue;
    }
    if (s.resource.addressType === 'FQDN') {
      report.add('warning', s, ['addressType'], 'FQDN EndpointSlices are not supported; ignored');
      continue;
    }
    const list = slicesByService.get(key) ?? [];
    list.push(s);
    slicesByService.set(key, list);
  }

  return services.map((src) => {
    const svc = src.resource;
    const namespace = svc.metadata.namespace!;
    const key = `${namespace}/${svc.metadata.name}`;
    const own = slicesByService.get(key) ?? [];
    if (own.length === 0 && (svc.spec.ports?.length ?? 0) > 0) {
      report.add('warning', src, [], 'no EndpointSlice names this Service (label kubernetes.io/service-name); requests to it get 503 no healthy upstream');
    }
    const clusterIPs = [...new Set([svc.spec.clusterIP, ...(svc.spec.clusterIPs ?? [])].filter((ip): ip is string => !!ip && ip !== 'None'))];
    const ports = (svc.spec.ports ?? []).map((p, i) => {
      const name = p.name ?? '';
      const endpoints: EndpointIR[] = [];
      let matched = false;
      for (const slice of own) {
        const slicePort = (slice.resource.ports ?? []).find((sp) => (sp.name ?? '') === name);
        if (!slicePort || !slicePort.port) continue;
        matched = true;
        for (const ep of slice.resource.endpoints ?? []) {
          const podKey = ep.targetRef?.kind === 'Pod' && ep.targetRef.name ? `${ep.targetRef.namespace ?? namespace}/${ep.targetRef.name}` : undefined;
          for (const address of ep.addresses) {
            const pod = (podKey && podsByKey.get(podKey)) || podsByIp.get(`${namespace}/${address}`);
            endpoints.push({
              address,
              port: slicePort.port,
              ready: ep.conditions?.ready !== false,
              ...(pod ? { pod: pod.key, serviceAccount: pod.serviceAccount } : podKey ? { pod: podKey } : {}),
            });
          }
        }
      }
      if (own.length > 0 && !matched) {
        report.add('warning', src, ['spec', 'ports', i], `no EndpointSlice of this Service has a port named ${JSON.stringify(name)}; requests to port ${p.port} get 503 no healthy upstream`);
      }
      return {
        name,
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        protocol: p.protocol ?? 'TCP',
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        endpoints,
      };
    });
    return { key, namespace, name: svc.metadata.name, hostname: `${svc.metadata.name}.${namespace}.svc.${CLUSTER_DOMAIN}`, clusterIPs, ports };
  });
}

const ROUTABLE_PROTOCOLS = new Set(['HTTP']);
/** Protocols of listeners that are not Gateway routing entry points for the plain listener. */
const MESH_PROTOCOLS = new Set(['HBONE']);

function translateGateway(src: SourcedResource & { resource: Gateway }, report: Reporter): GatewayIR {
  const gw = src.resource;
  const namespace = gw.metadata.namespace!;
  const seen = new Set<string>();
  gw.spec.listeners.forEach((l, i) => {
    if (seen.has(l.name)) report.add('error', src, ['spec', 'listeners', i, 'name'], `duplicate listener name ${JSON.stringify(l.name)}`);
    seen.add(l.name);
    if (!ROUTABLE_PROTOCOLS.has(l.protocol) && !MESH_PROTOCOLS.has(l.protocol)) {
      report.add('warning', src, ['spec', 'listeners', i, 'protocol'], `listener protocol ${l.protocol} is not supported yet; the listener is ignored`);
    }
  });
  return {
    key: `${namespace}/${gw.metadata.name}`,
    namespace,
    name: gw.metadata.name,
    className: gw.spec.gatewayClassName,
    listeners: gw.spec.listeners.map((l) => ({ name: l.name, port: l.port, protocol: l.protocol, ...(l.hostname ? { hostname: l.hostname } : {}) })),
  };
}

interface RouteContext {
  namespaces: ConfigIR['namespaces'];
  /** Services by key (`namespace/name`). */
  services: ReadonlyMap<string, ServiceIR>;
  gateways: GatewayIR[];
  /** The Gateway resources by key, for allowedRoutes (the IR keeps only the outcome). */
  gatewaySpecs: Map<string, Gateway>;
  referenceGrants: ReferenceGrant[];
}

/** Whether a ReferenceGrant in `toNamespace` lets an HTTPRoute in `fromNamespace` use Service `name` there. */
function referenceGranted(grants: readonly ReferenceGrant[], fromNamespace: string, toNamespace: string, name: string): boolean {
  return grants.some(
    (g) =>
      g.metadata.namespace === toNamespace &&
      g.spec.from.some((f) => f.group === GATEWAY_GROUP && f.kind === 'HTTPRoute' && f.namespace === fromNamespace) &&
      g.spec.to.some((t) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === name)),
  );
}

function translateHttpRoute(src: SourcedResource & { resource: HTTPRoute }, ctx: RouteContext, report: Reporter): HttpRouteIR {
  const route = src.resource;
  const namespace = route.metadata.namespace!;
  const rules: HttpRuleIR[] = (route.spec.rules ?? [{}]).map((rule, ri) => {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map((m, mi) => translateMatch(m, src, ['spec', 'rules', ri, 'matches', mi], report));
    // With a retry policy, backendRequest is each try's timeout and request the route's (Istio's conversion).
    const perTry = rule.retry && rule.timeouts?.backendRequest !== undefined ? durationMs(rule.timeouts.backendRequest) : 0;
    const timeoutMs = perTry
      ? ruleTimeout({ ...(rule.timeouts?.request !== undefined ? { request: rule.timeouts.request } : {}) }, src, ['spec', 'rules', ri, 'timeouts'], report)
      : ruleTimeout(rule.timeouts, src, ['spec', 'rules', ri, 'timeouts'], report);
    const retry = rule.retry ? { ...httpRouteRetry(rule.retry), ...(perTry ? { perTryTimeoutMs: perTry } : {}) } : undefined;
    return {
      ...(rule.name ? { name: rule.name } : {}),
      matches,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(retry ? { retry } : {}),
      filters: translateFilters(rule.filters ?? [], matches, src, ['spec', 'rules', ri, 'filters'], report, (ref, at) => translateBackend(ref, namespace, ctx, src, at, report, 'requests are not mirrored there')),
      backends: (rule.backendRefs ?? []).map((b, bi) => translateBackend(b, namespace, ctx, src, ['spec', 'rules', ri, 'backendRefs', bi], report)),
    };
  });
  return finishRoute(src, 'HTTPRoute', route, rules, ctx, report, unsupportedFilter(route.spec.rules ?? [], HTTP_RULE_FILTERS));
}

/** The filter types Istio converts; any other makes the whole route invalid (InvalidFilter). */
const HTTP_RULE_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'RequestMirror', 'URLRewrite', 'CORS']);
const GRPC_RULE_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);
const BACKEND_FILTERS = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier']);

interface UnsupportedFilter {
  type: string;
  path: Path;
}

/**
 * The first filter of a route that Istio cannot convert: a rule filter of a type outside `ruleFilters`
 * (ExtensionRef, for one), or a backendRef filter other than the header modifiers on a backend that
 * takes traffic (Istio skips weight-0 backends before it looks at their filters).
 */
function unsupportedFilter(rules: { filters?: { type: string }[]; backendRefs?: { weight?: number; filters?: { type: string }[] }[] }[], ruleFilters: Set<string>): UnsupportedFilter | undefined {
  for (const [ri, rule] of rules.entries()) {
    for (const [fi, f] of (rule.filters ?? []).entries()) if (!ruleFilters.has(f.type)) return { type: f.type, path: ['spec', 'rules', ri, 'filters', fi, 'type'] };
    for (const [bi, b] of (rule.backendRefs ?? []).entries()) {
      if ((b.weight ?? 1) === 0) continue;
      for (const [fi, f] of (b.filters ?? []).entries()) if (!BACKEND_FILTERS.has(f.type)) return { type: f.type, path: ['spec', 'rules', ri, 'backendRefs', bi, 'filters', fi, 'type'] };
    }
  }
  return undefined;
}

/**
 * A GRPCRoute, as Istio converts it: each method match becomes a path match on `/service/method`
 * (service and method → Exact; service only → PathPrefix `/service`; method only or RegularExpression →
 * RegularExpression), so GRPCRoutes and HTTPRoutes of one parent share one precedence order.
 */
function translateGrpcRoute(src: SourcedResource & { resource: GRPCRoute }, ctx: RouteContext, report: Reporter): HttpRouteIR {
  const route = src.resource;
  const namespace = route.metadata.namespace!;
  const rules: HttpRuleIR[] = (route.spec.rules ?? [{}]).map((rule, ri) => {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map((m, mi) => {
      const at: Path = ['spec', 'rules', ri, 'matches', mi];
      const http = translateMatch({ headers: m.headers ?? [] }, src, at, report);
      return { ...http, path: grpcPath(m.method, src, [...at, 'method'], report) };
    });
    return {
      ...(rule.name ? { name: rule.name } : {}),
      matches,
      filters: translateFilters(rule.filters ?? [], matches, src, ['spec', 'rules', ri, 'filters'], report, (ref, at) => translateBackend(ref, namespace, ctx, src, at, report, 'requests are not mirrored there')),
      backends: (rule.backendRefs ?? []).map((b, bi) => translateBackend(b, namespace, ctx, src, ['spec', 'rules', ri, 'backendRefs', bi], report)),
    };
  });
  return { ...finishRoute(src, 'GRPCRoute', route, rules, ctx, report, unsupportedFilter(route.spec.rules ?? [], GRPC_RULE_FILTERS)), kind: 'GRPCRoute' };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function grpcPath(method: GRPCMethodMatch | undefined, src: SourcedResource, path: Path, report: Reporter): HttpMatchIR['path'] {
  if (!method) return { type: 'PathPrefix', value: '/' };
  const { service, method: name } = method;
  if (service === undefined && name === undefined) {
    report.add('error', src, path, 'needs service or method (or both)');
    return { type: 'PathPrefix', value: '/' };
  }
  if ((method.type ?? 'Exact') === 'Exact') {
    if (service !== undefined && !/^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/.test(service)) report.add('error', src, [...path, 'service'], `not a gRPC service name: ${JSON.stringify(service)}`);
    if (name !== undefined && !/^[A-Za-z_][A-Za-z_0-9]*$/.test(name)) report.add('error', src, [...path, 'method'], `not a gRPC method name: ${JSON.stringify(name)}`);
    if (service !== undefined && name !== undefined) return { type: 'Exact', value: `/${service}/${name}` };
    if (service !== undefined) return { type: 'PathPrefix', value: `/${service}` };
    return { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(name!)}` };
  }
  for (const [field, value] of [['service', service], ['method', name]] as const) {
    const err = value !== undefined ? compileRegex(value).error : undefined;
    if (err) report.add('error', src, [...path, field], err);
  }
  return { type: 'RegularExpression', value: `/${service ?? '[^/]+'}/${name ?? '[^/]+'}` };
}

/** What every route kind shares: parents, attachment, status. */
function finishRoute(
  src: SourcedResource,
  routeKind: 'HTTPRoute' | 'GRPCRoute',
  route: { metadata: ObjectMeta; spec: { parentRefs?: ParentReference[]; hostnames?: string[] } },
  rules: HttpRuleIR[],
  ctx: RouteContext,
  report: Reporter,
  badFilter?: UnsupportedFilter,
): HttpRouteIR {
  const namespace = route.metadata.namespace!;
  const hostnames = route.spec.hostnames ?? [];
  const invalid = rules.flatMap((r) => r.backends).find((b): b is Extract<BackendIR, { kind: 'invalid' }> => b.kind === 'invalid');
  // A filter Istio cannot convert is a hard error: Istio programs no part of the route, and says so in
  // ResolvedRefs (where it reports every route error), leaving Accepted as it is.
  const filterError = badFilter ? `unsupported filter type ${JSON.stringify(badFilter.type)}` : undefined;
  if (badFilter) report.add('warning', src, badFilter.path, `${filterError}: the whole ${routeKind} is not programmed (as in Istio: ResolvedRefs False, InvalidFilter)`);
  const resolvedRefs: RouteConditionIR = filterError
    ? { type: 'ResolvedRefs', status: 'False', reason: 'InvalidFilter', message: filterError }
    : invalid
      ? { type: 'ResolvedRefs', status: 'False', reason: invalid.reason.split(':')[0]!, message: invalid.reason }
      : { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'all references resolved' };

  const attachments: RouteAttachmentIR[] = [];
  const status: RouteParentStatusIR[] = [];
  (route.spec.parentRefs ?? []).forEach((ref, pi) => {
    const group = ref.group ?? GATEWAY_GROUP;
    const kind = ref.kind ?? 'Gateway';
    const parentRef = { group, kind, namespace: ref.namespace ?? namespace, name: ref.name, ...(ref.sectionName ? { sectionName: ref.sectionName } : {}), ...(ref.port ? { port: ref.port } : {}) };
    const result = attach(ref, parentRef, hostnames, namespace, routeKind, ctx);
    if (result.accepted) {
      if (!badFilter) attachments.push(...result.attachments);
    } else report.add('warning', src, ['spec', 'parentRefs', pi], `not accepted by its parent: ${result.reason}: ${result.message}`);
    status.push({
      parentRef,
      conditions: [
        result.accepted
          ? { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'route accepted' }
          : { type: 'Accepted', status: 'False', reason: result.reason, message: result.message },
        resolvedRefs,
      ],
    });
  });
  if (!route.spec.parentRefs?.length) report.add('warning', src, ['spec'], 'has no parentRefs, so it applies nowhere');

  return {
    key: `${namespace}/${route.metadata.name}`,
    namespace,
    name: route.metadata.name,
    ...(route.metadata.creationTimestamp ? { creationTimestamp: route.metadata.creationTimestamp } : {}),
    hostnames,
    rules,
    attachments,
    status,
  };
}

type AttachResult =
  | { accepted: true; attachments: RouteAttachmentIR[] }
  | { accepted: false; reason: string; message: string };

function attach(
  ref: ParentReference,
  parentRef: RouteParentStatusIR['parentRef'],
  hostnames: readonly string[],
  routeNamespace: string,
  routeKind: 'HTTPRoute' | 'GRPCRoute',
  ctx: RouteContext,
): AttachResult {
  if (parentRef.group === '' && parentRef.kind === 'Service') {
    const key = `${parentRef.namespace}/${parentRef.name}`;
    const svc = ctx.services.get(key);
    if (!svc) return { accepted: false, reason: 'NoMatchingParent', message: `Service ${key} is not in the config` };
    if (parentRef.namespace !== routeNamespace) {
      return { accepted: false, reason: 'NotAllowedByListeners', message: 'routes for a Service in another namespace (consumer routes) are not supported in ambient mode' };
    }
    if (ref.port !== undefined && !svc.ports.some((p) => p.port === ref.port)) {
      return { accepted: false, reason: 'NoMatchingParent', message: `Service ${key} has no port ${ref.port}` };
    }
    return { accepted: true, attachments: [{ kind: 'Service', service: key, ...(ref.port !== undefined ? { port: ref.port } : {}) }] };
  }
  if (parentRef.group !== GATEWAY_GROUP || parentRef.kind !== 'Gateway') {
    return { accepted: false, reason: 'NoMatchingParent', message: `parentRef kind ${parentRef.group || 'core'}/${parentRef.kind} is not supported` };
  }
  const key = `${parentRef.namespace}/${parentRef.name}`;
  const gw = ctx.gateways.find((g) => g.key === key);
  if (!gw) return { accepted: false, reason: 'NoMatchingParent', message: `Gateway ${key} is not in the config` };
  const candidates = gw.listeners.filter(
    (l) => ROUTABLE_PROTOCOLS.has(l.protocol) && (!ref.sectionName || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port),
  );
  if (candidates.length === 0) {
    return { accepted: false, reason: 'NoMatchingParent', message: `Gateway ${key} has no HTTP listener${ref.sectionName ? ` named ${ref.sectionName}` : ''}${ref.port ? ` on port ${ref.port}` : ''}` };
  }
  const spec = ctx.gatewaySpecs.get(key);
  const allowed = candidates.filter((l) => routeAllowed(spec?.spec.listeners.find((x) => x.name === l.name), gw.namespace, routeNamespace, routeKind, ctx));
  if (allowed.length === 0) {
    return { accepted: false, reason: 'NotAllowedByListeners', message: `no listener of Gateway ${key} allows ${routeKind}s from namespace ${routeNamespace}` };
  }
  const attachments: RouteAttachmentIR[] = [];
  for (const l of allowed) {
    const effective = intersectHostnames(l.hostname, hostnames);
    if (effective) attachments.push({ kind: 'Gateway', gateway: key, listener: l.name, port: l.port, hostnames: effective });
  }
  if (attachments.length === 0) {
    return { accepted: false, reason: 'NoMatchingListenerHostname', message: `no listener hostname of Gateway ${key} intersects the route's hostnames` };
  }
  return { accepted: true, attachments };
}

function routeAllowed(
  listener: Gateway['spec']['listeners'][number] | undefined,
  gatewayNamespace: string,
  routeNamespace: string,
  routeKind: 'HTTPRoute' | 'GRPCRoute',
  ctx: RouteContext,
): boolean {
  const kinds = listener?.allowedRoutes?.kinds;
  if (kinds && !kinds.some((k) => k.kind === routeKind && (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP)) return false;
  const ns = listener?.allowedRoutes?.namespaces;
  switch (ns?.from ?? 'Same') {
    case 'All':
      return true;
    case 'Same':
      return gatewayNamespace === routeNamespace;
    case 'Selector':
      return selectorMatches(ns?.selector, ctx.namespaces[routeNamespace] ?? { 'kubernetes.io/metadata.name': routeNamespace });
  }
}

function translateMatch(m: HTTPRouteMatch, src: SourcedResource, path: Path, report: Reporter): HttpMatchIR {
  const type = m.path?.type ?? 'PathPrefix';
  const value = m.path?.value ?? '/';
  if (type === 'RegularExpression') {
    const err = compileRegex(value).error;
    if (err) report.add('error', src, [...path, 'path', 'value'], err);
  } else if (!value.startsWith('/')) {
    report.add('error', src, [...path, 'path', 'value'], `must start with "/" (got ${JSON.stringify(value)})`);
  } else if (/\/\/|\/\.\.?(\/|$)|[?#]/.test(value)) {
    report.add('error', src, [...path, 'path', 'value'], `must not contain "//", "/./", "/../", "?" or "#" (got ${JSON.stringify(value)})`);
  }
  const values = (list: HTTPRouteMatch['headers'], field: string) => {
    const seen = new Set<string>();
    return (list ?? []).map((h, i) => {
      const name = field === 'headers' ? h.name.toLowerCase() : h.name;
      if (seen.has(name)) report.add('error', src, [...path, field, i, 'name'], `duplicate ${field === 'headers' ? 'header' : 'query parameter'} name ${JSON.stringify(h.name)}`);
      seen.add(name);
      const t = h.type ?? 'Exact';
      if (t === 'RegularExpression') {
        const err = compileRegex(h.value).error;
        if (err) report.add('error', src, [...path, field, i, 'value'], err);
      }
      return { type: t, name, value: h.value };
    });
  };
  return {
    path: { type, value },
    headers: values(m.headers, 'headers'),
    queryParams: values(m.queryParams, 'queryParams'),
    ...(m.method ? { method: m.method } : {}),
  };
}

const FILTER_FIELD = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  CORS: 'cors',
  ExtensionRef: 'extensionRef',
} as const;

/** Gateway API's rules for filters (the CRD's CEL validations), then the filters in IR form. */
type BackendResolver = (ref: HTTPBackendRef, path: Path) => BackendIR;

function translateFilters(filters: HTTPRouteFilter[], matches: HttpMatchIR[], src: SourcedResource, path: Path, report: Reporter, resolve: BackendResolver): HttpFiltersIR {
  const out: HttpFiltersIR = {};
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    const at = [...path, i];
    const field = FILTER_FIELD[f.type];
    if (f[field as keyof HTTPRouteFilter] === undefined) return report.add('error', src, [...at, field], `required for a ${f.type} filter`);
    for (const other of Object.values(FILTER_FIELD)) {
      if (other !== field && f[other as keyof HTTPRouteFilter] !== undefined) report.add('error', src, [...at, other], `must not be set on a ${f.type} filter`);
    }
    if (f.type !== 'RequestMirror' && f.type !== 'ExtensionRef') {
      if (seen.has(f.type)) report.add('error', src, [...at, 'type'], `${f.type} may appear only once per rule`);
      seen.add(f.type);
    }
    switch (f.type) {
      case 'RequestHeaderModifier':
        out.requestHeaders = headerModifier(f.requestHeaderModifier!, src, [...at, field], report);
        break;
      case 'ResponseHeaderModifier':
        out.responseHeaders = headerModifier(f.responseHeaderModifier!, src, [...at, field], report);
        break;
      case 'RequestRedirect': {
        const r = f.requestRedirect!;
        const p = r.path && pathModifier(r.path, matches, src, [...at, field, 'path'], report);
        // As Istio converts it: no port and no scheme means the port the route serves (FROM_REQUEST_PORT).
        const port = r.port ? { port: r.port } : r.scheme ? {} : { portFromRoute: true };
        out.redirect = { statusCode: r.statusCode ?? 302, ...(r.scheme ? { scheme: r.scheme } : {}), ...(r.hostname ? { hostname: r.hostname } : {}), ...port, ...(p ? { path: p } : {}) };
        break;
      }
      case 'URLRewrite': {
        const r = f.urlRewrite!;
        const p = r.path && pathModifier(r.path, matches, src, [...at, field, 'path'], report);
        out.rewrite = { ...(r.hostname ? { hostname: r.hostname } : {}), ...(p ? { path: p } : {}) };
        break;
      }
      case 'RequestMirror': {
        const m = f.requestMirror!;
        if (m.percent !== undefined && m.fraction) {
          report.add('error', src, [...at, field], 'percent and fraction are mutually exclusive');
          break;
        }
        const denominator = m.fraction?.denominator ?? 100;
        if (m.fraction && m.fraction.numerator > denominator) {
          report.add('error', src, [...at, field, 'fraction', 'numerator'], `must not exceed the denominator (${denominator})`);
          break;
        }
        const backend = resolve({ ...m.backendRef, weight: 1 }, [...at, field, 'backendRef']);
        if (backend.kind !== 'service') break; // reported; Istio drops a mirror it cannot resolve
        const fraction = m.fraction ? m.fraction.numerator / denominator : (m.percent ?? 100) / 100;
        (out.mirrors ??= []).push({ service: backend.service, port: backend.port, fraction });
        break;
      }
      case 'CORS': {
        const c = f.cors!;
        out.cors = {
          // Gateway API origins are scheme://host[:port] with `*` wildcards; `*` alone allows any origin (as Istio converts them).
          allowOrigins: (c.allowOrigins ?? []).map((o) =>
            o === '*' ? { type: 'regex' as const, value: '.*' } : o.includes('*') ? { type: 'regex' as const, value: o.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*') } : { type: 'exact' as const, value: o },
          ),
          allowMethods: c.allowMethods ?? [],
          allowHeaders: c.allowHeaders ?? [],
          exposeHeaders: c.exposeHeaders ?? [],
          ...(c.maxAge !== undefined ? { maxAgeSeconds: c.maxAge } : {}),
          allowCredentials: c.allowCredentials ?? false,
          // As Istio converts the filter since istio/istio#59018: an unmatched preflight is answered, not forwarded.
          forwardUnmatchedPreflights: false,
        };
        break;
      }
      default:
        // ExtensionRef: the whole route is refused (finishRoute), as Istio refuses it.
        break;
    }
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) report.add('error', src, path, 'a rule may have a RequestRedirect or a URLRewrite filter, not both');
  return out;
}

function headerModifier(m: HTTPHeaderModifier, src: SourcedResource, path: Path, report: Reporter): HeaderModifierIR {
  const unique = (list: { name: string; value: string }[] | undefined, field: string) => {
    const names = new Set<string>();
    return (list ?? []).map((h, i) => {
      const name = h.name.toLowerCase();
      if (names.has(name)) report.add('error', src, [...path, field, i, 'name'], `duplicate header name ${JSON.stringify(h.name)}`);
      names.add(name);
      return { name, value: h.value };
    });
  };
  return { set: unique(m.set, 'set'), add: unique(m.add, 'add'), remove: (m.remove ?? []).map((n) => n.toLowerCase()) };
}

function pathModifier(p: HTTPPathModifier, matches: HttpMatchIR[], src: SourcedResource, path: Path, report: Reporter): PathModifierIR | undefined {
  if (p.type === 'ReplaceFullPath') {
    if (p.replaceFullPath === undefined) return void report.add('error', src, [...path, 'replaceFullPath'], 'required when type is ReplaceFullPath');
    return { type: 'ReplaceFullPath', value: p.replaceFullPath };
  }
  if (p.replacePrefixMatch === undefined) return void report.add('error', src, [...path, 'replacePrefixMatch'], 'required when type is ReplacePrefixMatch');
  if (matches.some((m) => m.path.type !== 'PathPrefix')) {
    report.add('error', src, [...path, 'type'], 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match');
  }
  return { type: 'ReplacePrefixMatch', value: p.replacePrefixMatch };
}

/** Milliseconds in a Gateway API Duration (already pattern-checked), e.g. "1m30s" → 90000. */
export function durationMs(text: string): number {
  const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+)(ms|h|m|s)/g)) total += Number(n) * unit[u as keyof typeof unit];
  return total;
}

/** Retry conditions Istio puts on every HTTPRoute retry policy, before the listed codes. */
const HTTPROUTE_RETRY_ON = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled'];

/** An HTTPRoute rule's `retry`, as Istio converts it: 2 attempts unless given, the codes as retriable status codes. */
function httpRouteRetry(r: { codes?: number[]; attempts?: number; backoff?: string }): RetryPolicyIR {
  const codes = [...new Set(r.codes ?? [])];
  return {
    numRetries: r.attempts ?? 2,
    retryOn: codes.length ? [...HTTPROUTE_RETRY_ON, 'retriable-status-codes'] : [...HTTPROUTE_RETRY_ON],
    codes,
    backoffBaseMs: r.backoff !== undefined ? durationMs(r.backoff) || 25 : 25,
  };
}

/**
 * The route timeout, as Istio derives it: `backendRequest` when given (without retries it is the route
 * timeout), else `request`; zero means none. `backendRequest` may not exceed `request`.
 */
function ruleTimeout(t: { request?: string; backendRequest?: string } | undefined, src: SourcedResource, path: Path, report: Reporter): number | undefined {
  if (!t) return undefined;
  const request = t.request !== undefined ? durationMs(t.request) : undefined;
  const backend = t.backendRequest !== undefined ? durationMs(t.backendRequest) : undefined;
  if (request && backend !== undefined && backend > request) {
    report.add('error', src, [...path, 'backendRequest'], `must not be longer than timeouts.request (${t.request})`);
  }
  const ms = backend || request;
  return ms || undefined;
}

function translateBackend(b: HTTPBackendRef, routeNamespace: string, ctx: RouteContext, src: SourcedResource, path: Path, report: Reporter, consequence = 'requests for this backend get 500'): BackendIR {
  const weight = b.weight ?? 1;
  const invalid = (reason: string): BackendIR => {
    report.add('warning', src, path, `${reason}; ${consequence}`);
    return { kind: 'invalid', reason, weight };
  };
  const group = b.group ?? '';
  const kind = b.kind ?? 'Service';
  if (group !== '' || kind !== 'Service') return invalid(`InvalidKind: backend kind ${group || 'core'}/${kind} is not supported`);
  const namespace = b.namespace ?? routeNamespace;
  if (namespace !== routeNamespace && !referenceGranted(ctx.referenceGrants, routeNamespace, namespace, b.name)) {
    return invalid(`RefNotPermitted: no ReferenceGrant in namespace ${namespace} lets HTTPRoutes in ${routeNamespace} refer to Service ${b.name}`);
  }
  const key = `${namespace}/${b.name}`;
  const svc = ctx.services.get(key);
  if (!svc) return invalid(`BackendNotFound: Service ${key} is not in the config`);
  if (b.port === undefined) return invalid('UnsupportedValue: a Service backendRef needs a port');
  if (!svc.ports.some((p) => p.port === b.port)) return invalid(`BackendNotFound: Service ${key} has no port ${b.port}`);
  // Per-backend filters: the header modifiers apply to requests sent to this backend (Istio's weighted-cluster headers).
  let requestHeaders: HeaderModifierIR | undefined;
  let responseHeaders: HeaderModifierIR | undefined;
  (b.filters ?? []).forEach((f, i) => {
    const at = [...path, 'filters', i];
    if (f.type === 'RequestHeaderModifier' && f.requestHeaderModifier) requestHeaders = headerModifier(f.requestHeaderModifier, src, [...at, 'requestHeaderModifier'], report);
    else if (f.type === 'ResponseHeaderModifier' && f.responseHeaderModifier) responseHeaders = headerModifier(f.responseHeaderModifier, src, [...at, 'responseHeaderModifier'], report);
    else if (f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier') report.add('error', src, [...at, FILTER_FIELD[f.type]], `required for a ${f.type} filter`);
  });
  return { kind: 'service', service: key, port: b.port, weight, ...(requestHeaders ? { requestHeaders } : {}), ...(responseHeaders ? { responseHeaders } : {}) };
}
