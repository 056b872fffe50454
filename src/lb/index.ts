// The load-balancer building blocks (issue 15), exported from src/index.ts as the namespace `lb`:
// flow hash, Maglev tables with second chance, GLB hop lists, backend health, and the Balancer
// that runs health and rebuilds for a SliceTable's services.
export { flowHash, type FlowTuple } from './flow-hash.js';
export {
  buildMaglev, lookupRow, canonicalBackends, quotasOf, isPrime, MAGLEV_DEFAULT_SIZE, MAGLEV_MAX_SIZE, MAGLEV_MAX_WEIGHT,
  type MaglevBackend, type WeightedBackend, type MaglevOptions, type MaglevTable,
} from './maglev.js';
export { rebuild, movedRows, tableDigest, type RebuildOptions } from './second-chance.js';
export { encodeHopList, decodeHopList, advanceHop, GLB_GUE_PORT, HOP_LIST_MAX_HOPS, type HopList, type InnerProtocol } from './hop-list.js';
export { BackendHealth, type BackendChange, type BackendStatus, type ChangeListener, type Drain, type Health } from './health.js';
export type { BackendHealthOptions, HealthTarget } from './health-options.js';
export { probe, probeTcp, probeHttp, type HealthCheck, type ProbeResult, type ProbeTarget } from './probes.js';
export {
  SecondChanceBackend, backendObjectPath, CHANCE_COUNTERS,
  type ChanceCounter, type ChanceCounters, type NextHop, type SecondChanceOptions,
} from './backend.js';
export {
  Balancer, type BalancedService, type BalancedBackend, type BalancerOptions, type BalancerEvent, type BalancerCounters,
  type BackendState, type ServiceState, type ChooseBackends,
} from './balancer.js';
