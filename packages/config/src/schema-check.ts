import type { Schema } from './schemas/common.ts';

/**
 * Checks a value against one of this package's JSON schemas by walking the schema: no code is generated,
 * so checking costs no memory beyond the schemas themselves. It knows the keywords the schemas use
 * (type, properties, required, additionalProperties, items, enum, oneOf, pattern, the length, size and
 * range bounds) and refuses a schema with any other, so a schema can never be checked less strictly than
 * it reads. Every error is reported, in the order JSON Schema validators (ajv) report them.
 */

export interface SchemaError {
  /** Where in the value: property names and list indexes. */
  path: (string | number)[];
  message: string;
}

const KNOWN = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'oneOf',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'description',
  'x-unsupported',
  'x-message',
]);

/** Throws when a schema uses a keyword the checker does not implement: the config tests run it over every kind's schema. */
export function assertCheckable(schema: Schema, where = '#'): void {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`schema ${where} uses keyword "${key}", which the checker does not implement`);
  const props = schema.properties as Record<string, Schema> | undefined;
  if (props) for (const [k, s] of Object.entries(props)) assertCheckable(s, `${where}/properties/${k}`);
  if (isSchema(schema.additionalProperties)) assertCheckable(schema.additionalProperties, `${where}/additionalProperties`);
  if (isSchema(schema.items)) assertCheckable(schema.items, `${where}/items`);
  (schema.oneOf as Schema[] | undefined)?.forEach((s, i) => assertCheckable(s, `${where}/oneOf/${i}`));
}

export function checkSchema(schema: Schema, value: unknown): SchemaError[] {
  return errorsOf(compiled(schema), value);
}

/** Where in the value a check is, as a chain from the leaf up: made into an array only for an error. */
type Where = { parent: Where; key: string | number } | undefined;

function pathOf(at: Where): (string | number)[] {
  const out: (string | number)[] = [];
  for (let w = at; w; w = w.parent) out.push(w.key);
  return out.reverse();
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** String length as JSON Schema counts it: in code points, not UTF-16 units. */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) n--, i++;
    }
  }
  return n;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function hasType(v: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeOf(v) === type;
  }
}

/**
 * A schema read once into an object of one fixed shape, so that checking a value reads plain fields
 * instead of probing each schema's own mix of keywords.
 */
interface Compiled {
  types: readonly string[] | undefined;
  maximum: number | undefined;
  minimum: number | undefined;
  maxLength: number | undefined;
  minLength: number | undefined;
  pattern: RegExp | undefined;
  patternSource: string;
  maxItems: number | undefined;
  minItems: number | undefined;
  items: Compiled | undefined;
  maxProperties: number | undefined;
  minProperties: number | undefined;
  required: readonly string[];
  properties: Map<string, Compiled> | undefined;
  /** additionalProperties: false refuses, a schema checks, undefined (or true) allows. */
  additional: false | Compiled | undefined;
  allowed: readonly unknown[] | undefined;
  oneOf: readonly Compiled[] | undefined;
  oneOfMessage: string;
}

const compiledSchemas = new WeakMap<Schema, Compiled>();
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function compiled(schema: Schema): Compiled {
  let c = compiledSchemas.get(schema);
  if (c) return c;
  const type = schema.type as string | string[] | undefined;
  const props = schema.properties as Record<string, Schema> | undefined;
  const extra = schema.additionalProperties;
  c = {
    types: type === undefined ? undefined : Array.isArray(type) ? type : [type],
    maximum: num(schema.maximum),
    minimum: num(schema.minimum),
    maxLength: num(schema.maxLength),
    minLength: num(schema.minLength),
    pattern: typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined,
    patternSource: typeof schema.pattern === 'string' ? schema.pattern : '',
    maxItems: num(schema.maxItems),
    minItems: num(schema.minItems),
    items: undefined,
    maxProperties: num(schema.maxProperties),
    minProperties: num(schema.minProperties),
    required: (schema.required as string[] | undefined) ?? [],
    properties: undefined,
    additional: undefined,
    allowed: schema.enum as unknown[] | undefined,
    oneOf: undefined,
    oneOfMessage: typeof schema['x-message'] === 'string' ? schema['x-message'] : 'must match exactly one of the allowed forms',
  };
  // Set before the parts below are compiled, so that a schema that refers to itself ends.
  compiledSchemas.set(schema, c);
  if (isSchema(schema.items)) c.items = compiled(schema.items);
  if (props) c.properties = new Map(Object.entries(props).map(([k, v]) => [k, compiled(v)]));
  if (extra === false) c.additional = false;
  else if (isSchema(extra)) c.additional = compiled(extra);
  if (schema.oneOf) c.oneOf = (schema.oneOf as Schema[]).map(compiled);
  return c;
}

function check(schema: Compiled, value: unknown, at: Where, errors: SchemaError[]): void {
  const types = schema.types;
  if (types !== undefined && !types.some((t) => hasType(value, t))) {
    errors.push({ path: pathOf(at), message: `must be ${types.join(' or ')}` });
    return;
  }
  if (typeof value === 'number') {
    if (schema.maximum !== undefined && value > schema.maximum) errors.push({ path: pathOf(at), message: `must be <= ${schema.maximum}` });
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ path: pathOf(at), message: `must be >= ${schema.minimum}` });
  } else if (typeof value === 'string') {
    if (schema.maxLength !== undefined && value.length > schema.maxLength && codePoints(value) > schema.maxLength) errors.push({ path: pathOf(at), message: `must NOT have more than ${schema.maxLength} characters` });
    if (schema.minLength !== undefined && codePoints(value) < schema.minLength) errors.push({ path: pathOf(at), message: `must NOT have fewer than ${schema.minLength} characters` });
    if (schema.pattern && !schema.pattern.test(value)) errors.push({ path: pathOf(at), message: `${JSON.stringify(value)} is not valid here (must match ${schema.patternSource})` });
  } else if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push({ path: pathOf(at), message: `must NOT have more than ${schema.maxItems} items` });
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push({ path: pathOf(at), message: `must NOT have fewer than ${schema.minItems} items` });
    if (schema.items) for (let i = 0; i < value.length; i++) check(schema.items, value[i], { parent: at, key: i }, errors);
  } else if (isSchema(value)) {
    const keys = Object.keys(value);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) errors.push({ path: pathOf(at), message: `must NOT have more than ${schema.maxProperties} properties` });
    if (schema.minProperties !== undefined && keys.length < schema.minProperties) errors.push({ path: pathOf(at), message: `must NOT have fewer than ${schema.minProperties} properties` });
    for (const name of schema.required) if (!(name in value)) errors.push({ path: [...pathOf(at), name], message: 'required field is missing' });
    const props = schema.properties;
    const extra = schema.additional;
    if (extra !== undefined) {
      for (const key of keys) {
        if (props?.has(key)) continue;
        if (extra === false) errors.push({ path: [...pathOf(at), key], message: 'unknown field' });
        else check(extra, value[key], { parent: at, key }, errors);
      }
    }
    if (props) for (const [key, sub] of props) if (Object.hasOwn(value, key)) check(sub, value[key], { parent: at, key }, errors);
  }
  const allowed = schema.allowed;
  if (allowed && !allowed.some((a) => a === value)) errors.push({ path: pathOf(at), message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
  const oneOf = schema.oneOf;
  if (oneOf && oneOf.filter((s) => errorsOf(s, value).length === 0).length !== 1) errors.push({ path: pathOf(at), message: schema.oneOfMessage });
}

function errorsOf(schema: Compiled, value: unknown): SchemaError[] {
  const errors: SchemaError[] = [];
  check(schema, value, undefined, errors);
  return errors;
}
