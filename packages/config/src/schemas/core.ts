import { dnsLabel, portNumber, resource, stringMap, unsupported, type Schema } from './common.ts';

export const namespaceSchema: Schema = resource(false, undefined, { spec: {} });

const servicePort: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['port'],
  properties: {
    name: dnsLabel,
    port: portNumber,
    targetPort: { oneOf: [portNumber, { type: 'string', minLength: 1, maxLength: 15 }], 'x-message': 'must be a port number (1-65535) or a port name' },
    protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
    appProtocol: { type: 'string' },
    nodePort: { type: 'integer' },
  },
};

export const serviceSchema: Schema = resource(
  true,
  {
    type: 'object',
    additionalProperties: false,
    properties: {
      clusterIP: { type: 'string' },
      clusterIPs: { type: 'array', items: { type: 'string' } },
      type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] },
      selector: stringMap,
      ports: { type: 'array', items: servicePort },
      ipFamilies: { type: 'array', items: { type: 'string' } },
      ipFamilyPolicy: { type: 'string' },
      internalTrafficPolicy: { type: 'string' },
      externalTrafficPolicy: { type: 'string' },
      publishNotReadyAddresses: { type: 'boolean' },
      sessionAffinity: { type: 'string' },
      sessionAffinityConfig: unsupported(),
      trafficDistribution: unsupported(),
      externalName: unsupported('ExternalName Services are not supported yet; ignored'),
      externalIPs: { type: 'array', items: { type: 'string' } },
      loadBalancerIP: { type: 'string' },
      loadBalancerSourceRanges: { type: 'array' },
      loadBalancerClass: { type: 'string' },
      allocateLoadBalancerNodePorts: { type: 'boolean' },
      healthCheckNodePort: { type: 'integer' },
    },
  },
);

const endpoint: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['addresses'],
  properties: {
    addresses: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', minLength: 1 } },
    conditions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ready: { type: ['boolean', 'null'] },
        serving: { type: ['boolean', 'null'] },
        terminating: { type: ['boolean', 'null'] },
      },
    },
    hostname: { type: 'string' },
    nodeName: { type: 'string' },
    zone: { type: 'string' },
    hints: {},
    deprecatedTopology: {},
    targetRef: {
      type: 'object',
      properties: {
        kind: { type: 'string' },
        name: { type: 'string' },
        namespace: { type: 'string' },
        uid: { type: 'string' },
      },
    },
  },
};

export const endpointSliceSchema: Schema = resource(true, undefined, {
  addressType: { enum: ['IPv4', 'IPv6', 'FQDN'] },
  endpoints: { type: ['array', 'null'], items: endpoint },
  ports: {
    type: ['array', 'null'],
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        port: { type: ['integer', 'null'], minimum: 1, maximum: 65535 },
        protocol: { enum: ['TCP', 'UDP', 'SCTP'] },
        appProtocol: { type: 'string' },
      },
    },
  },
});

/** Only labels, the service account and the pod IPs matter to the waypoint; the rest of the spec is open. */
export const podSchema: Schema = resource(
  true,
  {
    type: 'object',
    properties: { serviceAccountName: { type: 'string' } },
  },
  {
    status: {
      type: 'object',
      properties: {
        podIP: { type: 'string' },
        podIPs: { type: 'array', items: { type: 'object', properties: { ip: { type: 'string' } } } },
      },
    },
  },
);


