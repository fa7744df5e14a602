// The public surface of @roster/core.

export { type BackendDiff, diffBackends } from './backend-diff.js';
export { createDiscovery } from './discovery.js';
export {
  BackendAuthError,
  type BackendFailure,
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  DiscoveryError,
  InvalidNodeError,
  InvalidOptionsError,
  NodeNotRegisteredError,
  UnsupportedCapabilityError,
} from './errors.js';
// OpenTelemetry (docs/metrics.md): what `meterProvider` and `meter` accept, structurally.
export type { MeterLike, MeterProviderLike } from './metrics/otel-types.js';
// Live migration between backends.
export {
  type MirrorBackend,
  type MirrorBackendOptions,
  type MirrorStats,
  mirrorBackend,
} from './mirror-backend.js';
export {
  type CopyOptions,
  type CopyResult,
  copyRecords,
  type FollowOptions,
  followRecords,
} from './namespace-copy.js';
export { matchesFilter } from './node-filter-match.js';
// The record codec (wire format v1): the same bytes on every backend.
export { type DecodeResult, decodeRecord, encodeRecord, WIRE_VERSION } from './record-codec.js';
export { DEFAULT_TTL, MIN_TTL } from './resolve-options.js';
// The backend SPI: what a backend implements (see docs/custom-backend.md).
export type {
  BackendCapabilities,
  BackendChange,
  BackendEntry,
  BackendFactoryOptions,
  BackendOpenContext,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
  NamespaceInspection,
  PutOptions,
  PutResult,
  WriteCondition,
} from './spi/discovery-backend.js';
// Node selection over the live view or a list of nodes.
export * from './strategies/index.js';
export type { DiscoveryOptions, OwnNodeLostReason } from './types/discovery-options.js';
export type { Logger } from './types/logger.js';
export { silentLogger } from './types/logger.js';
export type { LeaveReason, NodeChangeEvent } from './types/node-change-event.js';
export type { NodeDiscovery } from './types/node-discovery.js';
export type { NodeFilter } from './types/node-filter.js';
export type { NodeInfo } from './types/node-info.js';
export type { NodeRegistration } from './types/node-registration.js';
export type { RegisterManyOptions } from './types/register-many-options.js';
export type { WatchOptions } from './types/watch-options.js';
// Validation of what an application registers. The rest of validation (keys, namespaces, value
// sizes), DeadlineQueue and the backend toolkit are for backend authors: `@roster/core/spi`.
export { assertValidRegistration } from './validation.js';
