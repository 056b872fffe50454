// Public exports of softunicast: nothing else is API.
export { XdpPort, type XdpMode } from './xdp/port.js';
export { vethPeerObjectPath } from './native.js';
export { XdpQueue, type BatchHandler } from './xdp/queue.js';
export { RxBatch, TxBatch } from './xdp/batch.js';
export type { XdpPortOptions, RingSizes, BindMode, AttachMode } from './xdp/options.js';
export type { CaptureRule } from './xdp/capture.js';
export type { Destination, PortRange, Protocol } from './fields.js';
export { SliceTable } from './slices/table.js';
export { splitPorts, type SplitPortsOptions } from './slices/split.js';
export { diffTables } from './slices/diff.js';
export { compileTable, type HostSpec, type CompileOptions, type CompiledTable, type CompileStats } from './slices/compile.js';
export type { OwnerSpec, LocalOwnerSpec, ServerOwnerSpec, DatacenterOwnerSpec, ServerEncap, DatacenterEncap, SliceSpec, SliceSelector, Slice, SliceEntry, SliceMove, TableDiff } from './slices/types.js';
export type { ServiceSpec, ServiceBackend, FlowService, ServiceRebuildOptions, ServiceRebuildFrom } from './slices/services.js';
export type { AddressServiceSpec, AddressSliceSpec, AddressService, NonConforming } from './slices/address-services.js';
export { COUNTER_DOCS, type PortCounters, type QueueCounters, type SteerCounters, type KernelXdpStats } from './xdp/counters.js';
export {
  SocketSteering, type SocketSteeringOptions, type SkLookupCounters, type SkLookupCounterName, type AddressLoad, type SteerRuleInfo,
} from './steer/steering.js';
export type { SteerRule } from './steer/rules.js';
export type { SteerTarget } from './steer/sockets.js';
export { connectFromSlice, udpFromSlice, type EgressOptions } from './egress.js';
export {
  SoftunicastError, InvalidOptionError, InterfaceNotFoundError, QueueNotFoundError, QueueBusyError,
  PermissionDeniedError, ModeUnsupportedError, XdpProgramPresentError, BpfLoadError, InvalidFrameError,
  ClosedError, NativeBuildError, SyscallError, SliceExhaustedError, InvalidSliceError, SliceOverlapError,
  UnknownOwnerError, OwnerUnreachableError, TableLimitError, InvalidTableError, InvalidConfigError, AddressConflictError,
  SliceConflictError, StoreUnavailableError, InvalidPacketError, InvalidRecordError, InvalidRuleError,
  type ErrorCode, type ConfigProblem,
} from './errors.js';
export {
  Router, type Lane, type RouterOptions, type RouterHostOptions, type RouterCounters, type RouteFates, type Explanation,
} from './router/router.js';
export type { HealthEvent, HealthOptions, HealthSetting, OwnerHealth } from './router/peer-health.js';
export type { OwnerCounters, PacketsAndBytes } from './router/owner-counters.js';
export type { DropCapture, DropCaptureOptions, DropCaptureSummary, DropCaptureEnd } from './router/drop-capture.js';
export { parseConfig, loadConfig, formatOf, type ConfigFormat } from './config/source.js';
export { readConfigFile, CONFIG_MAX_BYTES, CONFIG_READ_TIMEOUT_MS } from './config/file.js';
export { problemLine as formatProblem } from './config/problems.js';
export { validateConfig } from './config/validate.js';
export { tableFor, routerOptionsFor } from './config/perspective.js';
export { balancedServicesFor } from './config/balanced.js';
export { describeTable, formatTable, rowJson, type TableRow, type OwnerKind } from './config/describe.js';
export type {
  Config, GueConfig, DatacenterConfig, ServerConfig, ServerInterface, EgressConfig, EgressSlice, StatsConfig,
  HostAddresses, TrustedPeer, ServiceConfig, ServiceBackendConfig, ServiceHealthConfig,
  AddressServiceConfig, AddressSliceConfig, AddressFilterConfig,
} from './config/types.js';
export type { TableSource, SourcedTable, SourceUpdate, SourceHealth, SourceSubscriber } from './sources/types.js';
export { FileSource, readConfigText, type FileSourceOptions, type LoadedFile } from './sources/file.js';
export { TableFollower, type FollowerOptions, type FollowResult, type Publisher, type SourceLogger, type LogFields } from './sources/follow.js';
export { EtcdSource, type EtcdSourceOptions } from './sources/etcd/source.js';
export { EtcdTableStore, type EtcdStoreOptions, type ChangeResult } from './sources/etcd/store.js';
export type { StoredSlice, SliceRef } from './sources/etcd/entries.js';
export type { LoadOptions, LoadResult } from './sources/etcd/load.js';
export { checkEndpoints } from './sources/etcd/client.js';
export { layoutOf, type Layout } from './sources/etcd/layout.js';
/** Load-balancer building blocks (docs/load-balancer.md): flow hash, Maglev with second chance, GLB hop lists, backend health. */
export * as lb from './lb/index.js';
/** DNS building blocks (docs/structured-addressing.md): APL records (RFC 3123), zones, an authoritative responder. */
export * as dns from './dns/index.js';
/** Structured service addressing (docs/structured-addressing.md): the client rule's TXT format. */
export * as ssa from './ssa/index.js';
