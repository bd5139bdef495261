/** Pieces shared by the JSON schemas of every kind. */
export type Schema = Record<string, unknown>;

/** Marks a field the Kubernetes API defines but this project does not implement yet: a warning, not an error. */
export function unsupported(reason = 'not supported yet; ignored'): Schema {
  return { 'x-unsupported': reason };
}

export const dnsLabel: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
};

export const dnsSubdomain: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
};

export const portNumber: Schema = { type: 'integer', minimum: 1, maximum: 65535 };

export const stringMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };

export const labelSelector: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', minLength: 1 },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

/** metadata is open: Kubernetes adds many bookkeeping fields, none of which change routing. */
export function metadata(namespaced: boolean): Schema {
  return {
    type: 'object',
    required: ['name'],
    properties: {
      name: dnsSubdomain,
      ...(namespaced ? { namespace: dnsLabel } : {}),
      labels: stringMap,
      annotations: stringMap,
      creationTimestamp: { type: ['string', 'null'] },
    },
  };
}

/** A whole resource: apiVersion and kind are checked by the caller, status is ignored. */
export function resource(namespaced: boolean, spec: Schema | undefined, extra: Record<string, Schema> = {}): Schema {
  return {
    type: 'object',
    required: ['metadata', ...(spec ? ['spec'] : [])],
    additionalProperties: false,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: metadata(namespaced),
      ...(spec ? { spec } : {}),
      status: {},
      ...extra,
    },
  };
}
