import { fieldPath, type Diagnostic } from './diagnostics.ts';
import { checkSchema } from './schema-check.ts';
import type { Resource, ResourceKind } from './resources.ts';
import type { SourceDocument } from './source.ts';
import type { Schema } from './schemas/common.ts';
import { endpointSliceSchema, namespaceSchema, podSchema, serviceSchema } from './schemas/core.ts';
import { gatewaySchema, grpcRouteSchema, httpRouteSchema, referenceGrantSchema } from './schemas/gateway.ts';
import { destinationRuleSchema, virtualServiceSchema } from './schemas/istio.ts';

interface KindInfo {
  kind: ResourceKind;
  apiVersions: readonly string[];
  namespaced: boolean;
  schema: Schema;
}

const GATEWAY_VERSIONS = ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'];
const ISTIO_VERSIONS = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'];

export const SUPPORTED_KINDS: readonly KindInfo[] = [
  { kind: 'Namespace', apiVersions: ['v1'], namespaced: false, schema: namespaceSchema },
  { kind: 'Service', apiVersions: ['v1'], namespaced: true, schema: serviceSchema },
  { kind: 'Pod', apiVersions: ['v1'], namespaced: true, schema: podSchema },
  { kind: 'EndpointSlice', apiVersions: ['discovery.k8s.io/v1'], namespaced: true, schema: endpointSliceSchema },
  { kind: 'Gateway', apiVersions: GATEWAY_VERSIONS, namespaced: true, schema: gatewaySchema },
  { kind: 'HTTPRoute', apiVersions: GATEWAY_VERSIONS, namespaced: true, schema: httpRouteSchema },
  { kind: 'GRPCRoute', apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1alpha2'], namespaced: true, schema: grpcRouteSchema },
  { kind: 'VirtualService', apiVersions: ISTIO_VERSIONS, namespaced: true, schema: virtualServiceSchema },
  { kind: 'DestinationRule', apiVersions: ISTIO_VERSIONS, namespaced: true, schema: destinationRuleSchema },
  { kind: 'ReferenceGrant', apiVersions: ['gateway.networking.k8s.io/v1beta1', 'gateway.networking.k8s.io/v1alpha2'], namespaced: true, schema: referenceGrantSchema },
];

/** A resource that passed its schema, with where it came from. */
export interface SourcedResource {
  resource: Resource;
  /** `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds. */
  id: string;
  doc: SourceDocument;
  /** Path prefix inside `doc.value` (non-empty for items of a `kind: List`). */
  base: readonly (string | number)[];
}

export interface ValidationResult {
  resources: SourcedResource[];
  diagnostics: Diagnostic[];
}

/** Checks one YAML document against the schema of its kind; unknown kinds are skipped with a notice. */
export function validateDocument(doc: SourceDocument, defaultNamespace: string): ValidationResult {
  const out: ValidationResult = { resources: [], diagnostics: [] };
  visit(doc, doc.value, [], defaultNamespace, out);
  return out;
}

function visit(doc: SourceDocument, value: unknown, base: (string | number)[], defaultNamespace: string, out: ValidationResult): void {
  const at = (path: (string | number)[]) => doc.locate([...base, ...path]);
  const report = (severity: Diagnostic['severity'], path: (string | number)[], message: string, id?: string) => {
    const { line, col } = at(path);
    out.diagnostics.push({
      severity,
      file: doc.file,
      line,
      col,
      ...(id ? { resource: id } : {}),
      ...(path.length ? { field: fieldPath(path) } : {}),
      message,
    });
  };

  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    report('error', [], `a document must be a mapping (a Kubernetes object), not ${describe(value)}`);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') {
    report('error', [], 'a document needs string fields apiVersion and kind');
    return;
  }
  if (obj.kind === 'List' && obj.apiVersion === 'v1') {
    const items = Array.isArray(obj.items) ? obj.items : [];
    items.forEach((item, i) => visit(doc, item, [...base, 'items', i], defaultNamespace, out));
    return;
  }
  const info = SUPPORTED_KINDS.find((k) => k.kind === obj.kind);
  const meta = obj.metadata as Record<string, unknown> | undefined;
  const name = typeof meta?.name === 'string' ? meta.name : '?';
  if (!info) {
    report('notice', [], `kind ${obj.apiVersion}/${obj.kind} (${name}) is not supported; skipped`);
    return;
  }
  if (!info.apiVersions.includes(obj.apiVersion)) {
    report('notice', ['apiVersion'], `${obj.kind} apiVersion ${obj.apiVersion} is not supported (use ${info.apiVersions.join(' or ')}); skipped`);
    return;
  }
  const namespace = info.namespaced ? (typeof meta?.namespace === 'string' ? meta.namespace : defaultNamespace) : undefined;
  const id = namespace ? `${info.kind}/${namespace}/${name}` : `${info.kind}/${name}`;
  const errors = checkSchema(info.schema, obj);
  if (errors.length) {
    for (const { path, message } of errors) report('error', path, message, id);
    return;
  }
  for (const { path, reason } of unsupportedFields(info.schema, obj, [])) report('warning', path, reason, id);
  const resource = clonePlain(obj) as unknown as Resource;
  if (namespace) resource.metadata.namespace = namespace;
  out.resources.push({ resource, id, doc, base });
}

/** Fields the schema marks `x-unsupported` that the value sets, with the reason each is not supported. */
function unsupportedFields(schema: Schema, value: unknown, path: (string | number)[], out: { path: (string | number)[]; reason: string }[] = []): { path: (string | number)[]; reason: string }[] {
  if (!marksUnsupported(schema)) return out;
  const reason = schema['x-unsupported'];
  if (typeof reason === 'string') {
    out.push({ path, reason });
    return out;
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === 'object') {
    for (let i = 0; i < value.length; i++) unsupportedFields(schema.items as Schema, value[i], [...path, i], out);
    return out;
  }
  const props = schema.properties as Record<string, Schema> | undefined;
  if (props && value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const sub = Object.hasOwn(props, key) ? props[key] : undefined;
      if (sub) unsupportedFields(sub, (value as Record<string, unknown>)[key], [...path, key], out);
    }
  }
  return out;
}

const marking = new WeakMap<Schema, boolean>();

/** Whether a schema, or one below it through properties and items, has an `x-unsupported` field. */
function marksUnsupported(schema: Schema): boolean {
  let marks = marking.get(schema);
  if (marks === undefined) {
    const props = schema.properties as Record<string, Schema> | undefined;
    const items = schema.items && typeof schema.items === 'object' ? (schema.items as Schema) : undefined;
    marks = typeof schema['x-unsupported'] === 'string' || (items !== undefined && marksUnsupported(items)) || (props !== undefined && Object.values(props).some(marksUnsupported));
    marking.set(schema, marks);
  }
  return marks;
}

/**
 * A deep copy of parsed YAML (mappings, lists, scalars), so that the resource shares nothing with the
 * document, whose aliases may share nodes. A `__proto__` key is copied as a field, never as a prototype.
 */
function clonePlain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(clonePlain);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const copy = clonePlain((value as Record<string, unknown>)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
    else out[key] = copy;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value} (${JSON.stringify(value).slice(0, 40)})`;
}
