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

const patterns = new WeakMap<Schema, RegExp>();

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
  const errors: SchemaError[] = [];
  check(schema, value, [], errors);
  return errors;
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

function check(schema: Schema, value: unknown, path: (string | number)[], errors: SchemaError[]): void {
  const type = schema.type as string | string[] | undefined;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.some((t) => hasType(value, t))) {
      errors.push({ path, message: `must be ${types.join(' or ')}` });
      return;
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push({ path, message: `must be <= ${schema.maximum}` });
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push({ path, message: `must be >= ${schema.minimum}` });
  } else if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength && codePoints(value) > schema.maxLength) errors.push({ path, message: `must NOT have more than ${schema.maxLength} characters` });
    if (typeof schema.minLength === 'number' && codePoints(value) < schema.minLength) errors.push({ path, message: `must NOT have fewer than ${schema.minLength} characters` });
    if (typeof schema.pattern === 'string') {
      let re = patterns.get(schema);
      if (!re) patterns.set(schema, (re = new RegExp(schema.pattern, 'u')));
      if (!re.test(value)) errors.push({ path, message: `${JSON.stringify(value)} is not valid here (must match ${schema.pattern})` });
    }
  } else if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) errors.push({ path, message: `must NOT have more than ${schema.maxItems} items` });
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push({ path, message: `must NOT have fewer than ${schema.minItems} items` });
    if (isSchema(schema.items)) for (let i = 0; i < value.length; i++) check(schema.items, value[i], [...path, i], errors);
  } else if (isSchema(value)) {
    const keys = Object.keys(value);
    if (typeof schema.maxProperties === 'number' && keys.length > schema.maxProperties) errors.push({ path, message: `must NOT have more than ${schema.maxProperties} properties` });
    if (typeof schema.minProperties === 'number' && keys.length < schema.minProperties) errors.push({ path, message: `must NOT have fewer than ${schema.minProperties} properties` });
    for (const name of (schema.required as string[] | undefined) ?? []) if (!(name in value)) errors.push({ path: [...path, name], message: 'required field is missing' });
    const props = schema.properties as Record<string, Schema> | undefined;
    const extra = schema.additionalProperties;
    if (extra !== undefined) {
      for (const key of keys) {
        if (props && Object.hasOwn(props, key)) continue;
        if (extra === false) errors.push({ path: [...path, key], message: 'unknown field' });
        else if (isSchema(extra)) check(extra, value[key], [...path, key], errors);
      }
    }
    if (props) for (const key in props) if (Object.hasOwn(value, key)) check(props[key]!, value[key], [...path, key], errors);
  }
  const allowed = schema.enum as unknown[] | undefined;
  if (allowed && !allowed.some((a) => a === value)) errors.push({ path, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` });
  const oneOf = schema.oneOf as Schema[] | undefined;
  if (oneOf && oneOf.filter((s) => checkSchema(s, value).length === 0).length !== 1) {
    errors.push({ path, message: typeof schema['x-message'] === 'string' ? schema['x-message'] : 'must match exactly one of the allowed forms' });
  }
}
