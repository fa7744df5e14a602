// What the parts of one running discovery instance share: the backend, the local view, the
// per-id queue, the expiry sweeper, the state and the shutdown signal, plus the record decoder
// that logs foreign data (rule 10 of docs/guarantees.md).

import type { ExpirySweeper } from './expiry-sweeper.js';
import type { KeyedSerialQueue } from './keyed-serial-queue.js';
import type { LocalView } from './local-view.js';
import type { DiscoveryMetrics } from './metrics/discovery-metrics.js';
import { readRecord } from './record-codec.js';
import type { ResolvedOptions } from './resolve-options.js';
import type { DiscoveryBackend } from './spi/discovery-backend.js';
import type { Logger } from './types/logger.js';
import type { NodeInfo } from './types/node-info.js';

export type DiscoveryState = 'opening' | 'open' | 'closing' | 'closed';

export interface DiscoveryContext {
  readonly backend: DiscoveryBackend;
  readonly backendName: string;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly view: LocalView;
  /** Serialises the operations on one id (register, heartbeat, unregister, inspection). */
  readonly perId: KeyedSerialQueue;
  /** Aborted when `close()` starts: ends backoff sleeps and waits, nothing new starts after. */
  readonly shutdown: AbortSignal;
  /** Present when the backend has no native expiry events (set once the backend is open). */
  readonly sweeper: ExpirySweeper | undefined;
  readonly state: DiscoveryState;
  /** OpenTelemetry instruments of this instance (docs/metrics.md); no-ops without a meter. */
  readonly metrics: DiscoveryMetrics;
}

/** Decodes a stored value; a value that is not a Roster record is logged at `warn` and skipped. */
export function decodeOrSkip(
  context: Pick<DiscoveryContext, 'logger' | 'backendName' | 'metrics'>,
  key: string,
  value: Uint8Array,
  revision: number,
): NodeInfo | undefined {
  const node = readRecord(key, value);
  if (typeof node !== 'string') return node;
  context.metrics.foreignRecord();
  context.logger.warn(`skipped a value under "${key}" that is not a Roster record: ${node}`, {
    key,
    revision,
    backend: context.backendName,
  });
  return undefined;
}

export function newInstanceId(): string {
  return globalThis.crypto.randomUUID();
}
