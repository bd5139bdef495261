/** JSON schemas of Istio's networking kinds: VirtualService and DestinationRule (networking.istio.io). */
import { portNumber, resource, stringMap, unsupported, type Schema } from './common.ts';

/** A protobuf Duration as Istio reads it: Go-style `1s`, `0.5s`, `100ms`, `1m30s`. */
export const istioDuration: Schema = { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(h|m|s|ms|us|µs|ns))+$' };

const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) });

/** A StringMatch keyed by a header or query parameter name: at most one of exact, prefix, regex; `{}` there means "present" (Istio's docs). */
const namedMatch: Schema = { ...obj({ exact: { type: 'string' }, prefix: { type: 'string' }, regex: { type: 'string' } }), maxProperties: 1 };

/** Istio's StringMatch elsewhere: exactly one of exact, prefix, regex. */
const stringMatch: Schema = { ...namedMatch, minProperties: 1 };

const percent: Schema = obj({ value: { type: 'number', minimum: 0, maximum: 100 } });
const headerOps: Schema = obj({ set: stringMap, add: stringMap, remove: { type: 'array', items: { type: 'string', minLength: 1 } } });
const destination: Schema = obj({ host: { type: 'string', minLength: 1 }, subset: { type: 'string' }, port: obj({ number: portNumber }) }, ['host']);

const httpMatch: Schema = obj({
  name: { type: 'string' },
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: { type: 'object', additionalProperties: namedMatch },
  withoutHeaders: { type: 'object', additionalProperties: namedMatch },
  queryParams: { type: 'object', additionalProperties: namedMatch },
  port: portNumber,
  ignoreUriCase: { type: 'boolean' },
  sourceNamespace: { type: 'string' },
  sourceLabels: unsupported('sourceLabels does not apply to waypoints (Istio ignores it there); ignored'),
  gateways: unsupported('match gateways do not apply to a waypoint; ignored'),
  statPrefix: unsupported('statPrefix is not supported; ignored'),
});

const httpRoute: Schema = obj({
  name: { type: 'string' },
  match: { type: 'array', items: httpMatch },
  route: {
    type: 'array',
    items: obj({ destination, weight: { type: 'integer', minimum: 0 }, headers: obj({ request: headerOps, response: headerOps }) }, ['destination']),
  },
  redirect: obj({
    uri: { type: 'string' },
    authority: { type: 'string' },
    port: portNumber,
    derivePort: { enum: ['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'] },
    scheme: { type: 'string' },
    redirectCode: { enum: [301, 302, 303, 307, 308] },
  }),
  directResponse: obj({ status: { type: 'integer', minimum: 200, maximum: 599 }, body: obj({ string: { type: 'string' }, bytes: { type: 'string' } }) }, ['status']),
  delegate: obj({ name: { type: 'string', minLength: 1 }, namespace: { type: 'string' } }, ['name']),
  rewrite: obj({ uri: { type: 'string' }, authority: { type: 'string' }, uriRegexRewrite: obj({ match: { type: 'string' }, rewrite: { type: 'string' } }, ['match', 'rewrite']) }),
  timeout: istioDuration,
  retries: obj({
    attempts: { type: 'integer', minimum: 0 },
    perTryTimeout: istioDuration,
    retryOn: { type: 'string' },
    retryRemoteLocalities: { type: 'boolean' },
    retryIgnorePreviousHosts: { type: 'boolean' },
    backoff: istioDuration,
  }),
  fault: obj({
    delay: obj({ fixedDelay: istioDuration, percentage: percent, percent: { type: 'integer', minimum: 0, maximum: 100 }, exponentialDelay: unsupported('exponentialDelay is not supported; ignored') }),
    abort: obj({ httpStatus: { type: 'integer', minimum: 200, maximum: 599 }, grpcStatus: { type: 'string' }, http2Error: unsupported('http2Error aborts are not supported; ignored'), percentage: percent }),
  }),
  mirror: destination,
  mirrorPercentage: percent,
  mirrorPercent: { type: 'integer', minimum: 0, maximum: 100 },
  mirrors: { type: 'array', items: obj({ destination, percentage: percent }, ['destination']) },
  corsPolicy: obj({
    allowOrigins: { type: 'array', items: stringMatch },
    allowOrigin: { type: 'array', items: { type: 'string' } },
    allowMethods: { type: 'array', items: { type: 'string', minLength: 1 } },
    allowHeaders: { type: 'array', items: { type: 'string', minLength: 1 } },
    exposeHeaders: { type: 'array', items: { type: 'string', minLength: 1 } },
    maxAge: istioDuration,
    allowCredentials: { type: 'boolean' },
    unmatchedPreflights: { enum: ['UNSPECIFIED', 'FORWARD', 'IGNORE'] },
  }),
  headers: obj({ request: headerOps, response: headerOps }),
});

export const virtualServiceSchema: Schema = resource(
  true,
  obj(
    {
      hosts: { type: 'array', items: { type: 'string', minLength: 1 } },
      gateways: { type: 'array', items: { type: 'string' } },
      http: { type: 'array', items: httpRoute },
      tls: unsupported('TLS routes are not supported by this waypoint; ignored'),
      tcp: unsupported('TCP routes are not supported by this waypoint; ignored'),
      exportTo: unsupported('exportTo has no effect on a single waypoint; ignored'),
    },
  ),
);

const loadBalancer: Schema = obj({
  simple: { enum: ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] },
  consistentHash: {
    ...obj({
      httpHeaderName: { type: 'string', minLength: 1 },
      httpCookie: obj({ name: { type: 'string', minLength: 1 }, path: { type: 'string' }, ttl: istioDuration, attributes: unsupported('cookie attributes are not supported; ignored') }, ['name']),
      useSourceIp: { type: 'boolean' },
      httpQueryParameterName: { type: 'string', minLength: 1 },
      ringHash: obj({ minimumRingSize: { type: 'integer', minimum: 1, maximum: 8_388_608 } }),
      maglev: obj({ tableSize: { type: 'integer', minimum: 1 } }),
      minimumRingSize: { type: 'integer', minimum: 1, maximum: 8_388_608 },
    }),
  },
  localityLbSetting: unsupported('localityLbSetting is not supported by this waypoint; ignored'),
  warmupDurationSecs: unsupported('warmupDurationSecs is not supported; ignored'),
  warmup: unsupported('warmup is not supported; ignored'),
});

const connectionPool: Schema = obj({
  tcp: obj({
    maxConnections: { type: 'integer', minimum: 0 },
    connectTimeout: istioDuration,
    tcpKeepalive: obj({ probes: { type: 'integer', minimum: 0 }, time: istioDuration, interval: istioDuration }),
    maxConnectionDuration: istioDuration,
    idleTimeout: istioDuration,
  }),
  http: obj({
    http1MaxPendingRequests: { type: 'integer', minimum: 0 },
    http2MaxRequests: { type: 'integer', minimum: 0 },
    maxRequestsPerConnection: { type: 'integer', minimum: 0 },
    maxRetries: { type: 'integer', minimum: 0 },
    idleTimeout: istioDuration,
    h2UpgradePolicy: { enum: ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] },
    useClientProtocol: { type: 'boolean' },
    maxConcurrentStreams: { type: 'integer', minimum: 0 },
  }),
});

const outlierDetection: Schema = obj({
  consecutiveErrors: { type: 'integer', minimum: 0 },
  consecutive5xxErrors: { type: 'integer', minimum: 0 },
  consecutiveGatewayErrors: { type: 'integer', minimum: 0 },
  consecutiveLocalOriginFailures: { type: 'integer', minimum: 0 },
  splitExternalLocalOriginErrors: { type: 'boolean' },
  interval: istioDuration,
  baseEjectionTime: istioDuration,
  maxEjectionPercent: { type: 'integer', minimum: 0, maximum: 100 },
  minHealthPercent: { type: 'integer', minimum: 0, maximum: 100 },
});

const trafficPolicyFields = {
  loadBalancer,
  connectionPool,
  outlierDetection,
  tls: unsupported('tls settings do not apply: the waypoint reaches workloads over HBONE; ignored'),
  proxyProtocol: unsupported('proxyProtocol is not supported; ignored'),
  tunnel: unsupported('tunnel is not supported; ignored'),
};

const trafficPolicy: Schema = obj({
  ...trafficPolicyFields,
  portLevelSettings: { type: 'array', items: obj({ port: obj({ number: portNumber }, ['number']), ...trafficPolicyFields }, ['port']) },
});

export const destinationRuleSchema: Schema = resource(
  true,
  obj(
    {
      host: { type: 'string', minLength: 1 },
      trafficPolicy,
      subsets: { type: 'array', items: obj({ name: { type: 'string', minLength: 1, maxLength: 253 }, labels: stringMap, trafficPolicy }, ['name']) },
      exportTo: unsupported('exportTo has no effect on a single waypoint; ignored'),
      workloadSelector: unsupported('workloadSelector does not apply to a waypoint; ignored'),
    },
    ['host'],
  ),
);
