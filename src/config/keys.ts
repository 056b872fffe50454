// The keys each object of the configuration file may hold, named after the schema's definitions
// (schema/softunicast-config.schema.json). The validator refuses any other key; a unit test checks
// that the schema lists exactly these, so the two cannot drift apart.
export const CONFIG_KEYS = {
  /** The top level. `$schema` lets editors find the schema; it is otherwise ignored. */
  config: ['$schema', 'version', 'gue', 'datacenters', 'egress', 'stats', 'health', 'services', 'flowHashSeed', 'addressServices'],
  gue: ['port', 'encap', 'trustedPeers'],
  datacenter: ['endpoint', 'encap', 'guePort', 'fallback', 'servers'],
  endpoint: ['ipv4', 'ipv6'],
  server: ['ipv4', 'ipv6', 'encap', 'mac', 'guePort', 'fallback', 'interface'],
  /** XdpPortOptions under the name `name` for `interface`, and without `capture`. */
  interface: [
    'name', 'queues', 'frameSize', 'frameCount', 'frameHeadroom', 'rings', 'batchSize', 'bind', 'attach', 'needWakeup',
    'busyPoll', 'replace',
  ],
  rings: ['rx', 'tx', 'fill', 'completion'],
  egress: ['address', 'prefix', 'protocols', 'tags', 'slices'],
  sliceRule: ['size', 'reserveLowest', 'owners'],
  slice: ['ports', 'owner', 'protocols'],
  portRange: ['from', 'to'],
  stats: ['intervalSeconds', 'prometheus'],
  health: ['intervalMs', 'downAfter', 'upAfter', 'probeAll'],
  service: ['name', 'address', 'protocol', 'port', 'rows', 'moves', 'backends', 'health'],
  serviceBackend: ['server', 'weight', 'drain'],
  addressService: ['name', 'prefix', 'slices', 'filter'],
  addressSlice: ['prefix', 'owner', 'secondary'],
  addressFilter: ['rule', 'nonConforming'],
  nonConformingOwner: ['owner'],
  serviceHealth: ['check', 'path', 'status', 'host', 'port', 'intervalMs', 'timeoutMs', 'rise', 'fall', 'drainDeadlineMs'],
} as const;

export type ConfigObjectKind = keyof typeof CONFIG_KEYS;
