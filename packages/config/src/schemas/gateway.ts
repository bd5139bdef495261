import { dnsLabel, dnsSubdomain, labelSelector, portNumber, resource, unsupported, type Schema } from './common.ts';

/** RFC 1123 hostname, optionally with one leading `*.` label (Gateway API `Hostname`). */
const hostname: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
};

const headerName: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$",
};

const listener: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'port', 'protocol'],
  properties: {
    name: dnsLabel,
    hostname,
    port: portNumber,
    protocol: { type: 'string', minLength: 1 },
    tls: unsupported('TLS listeners are not supported yet; ignored'),
    allowedRoutes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespaces: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { enum: ['All', 'Same', 'Selector'] },
            selector: labelSelector,
          },
        },
        kinds: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['kind'],
            properties: { group: { type: 'string' }, kind: { type: 'string', minLength: 1 } },
          },
        },
      },
    },
  },
};

export const gatewaySchema: Schema = resource(true, {
  type: 'object',
  additionalProperties: false,
  required: ['gatewayClassName', 'listeners'],
  properties: {
    gatewayClassName: { type: 'string', minLength: 1 },
    listeners: { type: 'array', minItems: 1, maxItems: 64, items: listener },
    addresses: unsupported('Gateway addresses have no effect on a waypoint process; ignored'),
    infrastructure: {},
    backendTLS: unsupported(),
  },
});

const parentRef: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    group: { type: 'string' },
    kind: { type: 'string' },
    namespace: dnsLabel,
    name: dnsSubdomain,
    sectionName: dnsLabel,
    port: portNumber,
  },
};

const stringMatch = (types: string[]): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  properties: {
    type: { enum: types },
    name: headerName,
    value: { type: 'string', maxLength: 4096 },
  },
});

const pathMatch: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { enum: ['Exact', 'PathPrefix', 'RegularExpression'] },
    value: { type: 'string', maxLength: 1024 },
  },
};

const httpMatch: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: pathMatch,
    headers: { type: 'array', maxItems: 16, items: stringMatch(['Exact', 'RegularExpression']) },
    queryParams: { type: 'array', maxItems: 16, items: stringMatch(['Exact', 'RegularExpression']) },
    method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] },
  },
};

/** Gateway API Duration: up to four number+unit pairs, e.g. "1h30m", "500ms", "0s". */
const duration: Schema = { type: 'string', pattern: '^([0-9]{1,5}(h|m|s|ms)){1,4}$' };

const headerValue: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  properties: { name: headerName, value: { type: 'string', maxLength: 4096 } },
};

const headerModifier: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    set: { type: 'array', maxItems: 16, items: headerValue },
    add: { type: 'array', maxItems: 16, items: headerValue },
    remove: { type: 'array', maxItems: 16, items: headerName },
  },
};

/** The filter types of HTTPRoute rules and backendRefs. */
const HTTP_FILTER_TYPES = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'CORS', 'ExtensionRef'];

/** LocalObjectReference: an ExtensionRef filter's referent. */
const localObjectReference: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['group', 'kind', 'name'],
  properties: { group: { type: 'string', maxLength: 253 }, kind: { type: 'string', minLength: 1, maxLength: 63 }, name: { type: 'string', minLength: 1, maxLength: 253 } },
};

/** BackendObjectReference: the fields of a backendRef, and all of a RequestMirror's backendRef. */
const backendObjectReference: Record<string, Schema> = { group: { type: 'string' }, kind: { type: 'string' }, name: dnsSubdomain, namespace: dnsLabel, port: portNumber };

const backendRef: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    ...backendObjectReference,
    weight: { type: 'integer', minimum: 0, maximum: 1000000 },
    filters: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type'],
        properties: {
          type: { enum: HTTP_FILTER_TYPES },
          requestHeaderModifier: headerModifier,
          responseHeaderModifier: headerModifier,
          // Istio refuses the whole route for these (InvalidFilter); translation reports it.
          requestRedirect: { type: 'object' },
          urlRewrite: { type: 'object' },
          requestMirror: { type: 'object' },
          cors: { type: 'object' },
          extensionRef: localObjectReference,
        },
      },
    },
  },
};

const pathModifier: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['ReplaceFullPath', 'ReplacePrefixMatch'] },
    replaceFullPath: { type: 'string', maxLength: 1024 },
    replacePrefixMatch: { type: 'string', maxLength: 1024 },
  },
};

const httpFilter: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: HTTP_FILTER_TYPES },
    requestHeaderModifier: headerModifier,
    responseHeaderModifier: headerModifier,
    requestRedirect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        scheme: { enum: ['http', 'https'] },
        hostname,
        path: pathModifier,
        port: portNumber,
        statusCode: { enum: [301, 302, 303, 307, 308] },
      },
    },
    urlRewrite: {
      type: 'object',
      additionalProperties: false,
      properties: { hostname, path: pathModifier },
    },
    requestMirror: {
      type: 'object',
      additionalProperties: false,
      required: ['backendRef'],
      properties: {
        backendRef: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: backendObjectReference,
        },
        percent: { type: 'integer', minimum: 0, maximum: 100 },
        fraction: {
          type: 'object',
          additionalProperties: false,
          required: ['numerator'],
          properties: { numerator: { type: 'integer', minimum: 0 }, denominator: { type: 'integer', minimum: 1 } },
        },
      },
    },
    cors: {
      type: 'object',
      additionalProperties: false,
      properties: {
        allowOrigins: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 253 } },
        allowCredentials: { type: 'boolean' },
        allowMethods: { type: 'array', maxItems: 9, items: { type: 'string', pattern: '^(GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|\\*)$' } },
        allowHeaders: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } },
        exposeHeaders: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } },
        maxAge: { type: 'integer', minimum: 1 },
      },
    },
    extensionRef: localObjectReference,
  },
};

const httpRule: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: dnsLabel,
    matches: { type: 'array', maxItems: 64, items: httpMatch },
    filters: { type: 'array', maxItems: 16, items: httpFilter },
    backendRefs: { type: 'array', maxItems: 16, items: backendRef },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: { request: duration, backendRequest: duration },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        codes: { type: 'array', maxItems: 32, items: { type: 'integer', minimum: 400, maximum: 599 } },
        attempts: { type: 'integer', minimum: 0, maximum: 1000 },
        backoff: duration,
      },
    },
    sessionPersistence: unsupported('sessionPersistence is not implemented (Istio does not implement it either); ignored'),
  },
};

export const httpRouteSchema: Schema = resource(true, {
  type: 'object',
  additionalProperties: false,
  properties: {
    parentRefs: { type: 'array', maxItems: 32, items: parentRef },
    hostnames: { type: 'array', maxItems: 16, items: hostname },
    rules: { type: 'array', maxItems: 16, items: httpRule },
  },
});

const groupName: Schema = { type: 'string', maxLength: 253, pattern: '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' };
const kindName: Schema = { type: 'string', minLength: 1, maxLength: 63, pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$' };

export const referenceGrantSchema: Schema = resource(true, {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: {
    from: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'object', additionalProperties: false, required: ['group', 'kind', 'namespace'], properties: { group: groupName, kind: kindName, namespace: dnsLabel } },
    },
    to: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: { type: 'object', additionalProperties: false, required: ['group', 'kind'], properties: { group: groupName, kind: kindName, name: { type: 'string', minLength: 1, maxLength: 253 } } },
    },
  },
});

const grpcFilterProperties = httpFilter.properties as Record<string, Schema>;
const grpcFilter: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef'] },
    requestHeaderModifier: headerModifier,
    responseHeaderModifier: headerModifier,
    requestMirror: grpcFilterProperties.requestMirror!,
    extensionRef: grpcFilterProperties.extensionRef!,
  },
};

export const grpcRouteSchema: Schema = resource(true, {
  type: 'object',
  additionalProperties: false,
  properties: {
    parentRefs: { type: 'array', maxItems: 32, items: parentRef },
    hostnames: { type: 'array', maxItems: 16, items: hostname },
    rules: {
      type: 'array',
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          name: dnsLabel,
          matches: {
            type: 'array',
            maxItems: 64,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                method: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    type: { enum: ['Exact', 'RegularExpression'] },
                    service: { type: 'string', maxLength: 1024 },
                    method: { type: 'string', maxLength: 1024 },
                  },
                },
                headers: { type: 'array', maxItems: 16, items: stringMatch(['Exact', 'RegularExpression']) },
              },
            },
          },
          filters: { type: 'array', maxItems: 16, items: grpcFilter },
          backendRefs: { type: 'array', maxItems: 16, items: backendRef },
          sessionPersistence: unsupported('sessionPersistence is not implemented (Istio does not implement it either); ignored'),
        },
      },
    },
  },
});
