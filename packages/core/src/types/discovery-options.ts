import type { MeterLike, MeterProviderLike } from '../metrics/otel-types.js';
import type { DiscoveryBackend } from '../spi/discovery-backend.js';
import type { Logger } from './logger.js';
import type { NodeInfo } from './node-info.js';

/** Why an owner lost one of its nodes. */
export type OwnNodeLostReason = 'expired' | 'unregistered' | 'replaced';

/**
 * Options of {@link createDiscovery}.
 *
 * @example
 * ```ts
 * const discovery = await createDiscovery({ backend: memoryBackend(), ttl: 5_000 });
 * ```
 */
export interface DiscoveryOptions {
  /** Where records live: `memoryBackend()`, `natsBackend(…)`, `redisBackend(…)`, `etcdBackend(…)`. */
  backend: DiscoveryBackend;
  /** Ms a node lives without a heartbeat. Default 10_000, minimum 1_000. */
  ttl?: number;
  /** Ms between heartbeats of each owned node. Default ttl / 3; every wait is jittered by ±10 %. */
  heartbeatInterval?: number;
  /** Default true. With false the application calls `heartbeat()` itself. */
  autoHeartbeat?: boolean;
  /** Default true: an owned node found gone (expired or removed) is registered again. */
  reregister?: boolean;
  /** Called when a heartbeat finds an owned record gone or replaced. */
  onOwnNodeLost?: (node: NodeInfo, reason: OwnNodeLostReason) => void;
  /** Default: silent. */
  logger?: Logger;
  /**
   * OpenTelemetry metrics (docs/metrics.md) go to a meter of this provider (any `MeterProvider`
   * of `@opentelemetry/api`). Default: the global provider, when `@opentelemetry/api` is
   * installed and an SDK registered one before `createDiscovery`; else nothing is measured.
   *
   * @example
   * ```ts
   * import { MeterProvider } from '@opentelemetry/sdk-metrics';
   * const meterProvider = new MeterProvider({ readers: [reader] });
   * const discovery = await createDiscovery({ backend: memoryBackend(), meterProvider });
   * ```
   */
  meterProvider?: MeterProviderLike;
  /** The OpenTelemetry `Meter` to report through, used as is; takes precedence over `meterProvider`. */
  meter?: MeterLike;
}
