import { describe, expect, it } from 'vitest';
import { assertCheckable, checkSchema } from '../src/schema-check.ts';
import { SUPPORTED_KINDS } from '../src/validate.ts';

describe('schema checker', () => {
  const port = { type: 'integer', minimum: 1, maximum: 65535 };
  const cases: [string, Record<string, unknown>, unknown, string[]][] = [
    ['a wrong type', { type: 'string' }, 1, [': must be string']],
    ['a union type', { type: ['string', 'integer'] }, true, [': must be string or integer']],
    ['an integer that is not', port, 1.5, [': must be integer']],
    ['a number that is NaN', { type: 'number' }, Number.NaN, [': must be number']],
    ['null is not an object', { type: 'object' }, null, [': must be object']],
    ['a list is not an object', { type: 'object' }, [], [': must be object']],
    ['above maximum', port, 70000, [': must be <= 65535']],
    ['below minimum', port, 0, [': must be >= 1']],
    ['too long', { type: 'string', maxLength: 3 }, 'abcd', [': must NOT have more than 3 characters']],
    ['length in code points, not UTF-16 units', { type: 'string', maxLength: 2 }, '😀😀', []],
    ['too short', { type: 'string', minLength: 1 }, '', [': must NOT have fewer than 1 characters']],
    ['a pattern', { type: 'string', pattern: '^[a-z]+$' }, 'A', [': "A" is not valid here (must match ^[a-z]+$)']],
    ['too many items', { type: 'array', maxItems: 1 }, [1, 2], [': must NOT have more than 1 items']],
    ['too few items', { type: 'array', minItems: 1 }, [], [': must NOT have fewer than 1 items']],
    ['items, each checked', { type: 'array', items: port }, [1, 'x', 0], ['1: must be integer', '2: must be >= 1']],
    ['too many properties', { type: 'object', maxProperties: 1 }, { a: 1, b: 2 }, [': must NOT have more than 1 properties']],
    ['too few properties', { type: 'object', minProperties: 1 }, {}, [': must NOT have fewer than 1 properties']],
    ['not in the enum', { enum: ['A', 'B'] }, 'C', [': must be one of "A", "B"']],
    ['a oneOf no branch of which matches', { oneOf: [port, { type: 'string' }], 'x-message': 'a port' }, true, [': a port']],
    ['a oneOf two branches of which match', { oneOf: [{ type: 'integer' }, { type: 'number' }] }, 1, [': must match exactly one of the allowed forms']],
    [
      'every error of an object, required first, then unknown fields, then properties in schema order',
      { type: 'object', required: ['name'], additionalProperties: false, properties: { port, other: { type: 'string' } } },
      { other: 1, extra: true, port: 0 },
      ['name: required field is missing', 'extra: unknown field', 'port: must be >= 1', 'other: must be string'],
    ],
    ['a map of strings', { type: 'object', additionalProperties: { type: 'string' } }, { a: 'x', b: 2 }, ['b: must be string']],
    ['a valid value', { type: 'object', properties: { p: port } }, { p: 80 }, []],
  ];
  it.each(cases)('%s', (_name, schema, value, expected) => {
    expect(checkSchema(schema, value).map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual(expected);
  });

  it('refuses a schema with a keyword it does not implement, rather than ignoring it', () => {
    expect(() => assertCheckable({ type: 'object', properties: { a: { type: 'string', format: 'email' } } }, 'X')).toThrow('schema X/properties/a uses keyword "format"');
    expect(() => assertCheckable({ items: { const: 1 } })).toThrow(/"const"/);
  });

  it('implements every keyword the resource schemas use', () => {
    for (const k of SUPPORTED_KINDS) expect(() => assertCheckable(k.schema, k.kind)).not.toThrow();
  });
});
