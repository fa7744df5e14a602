// Opens (or creates) the buckets of a namespace and reports what the records bucket turned out to be.
import type { KV, Kvm } from '@nats-io/kv';
import type { Logger } from '@roster/core';
import type { BackendCapabilities } from '@roster/core/spi';
import { openHistoryBucket, openRecordsBucket } from './bucket-layout.js';
import type { NatsSettings } from './nats-backend-options.js';
import { clientTimeout } from './nats-connection.js';
import { hasNativeExpiryEvents } from './server-version.js';

export interface NamespaceBuckets {
  readonly records: KV;
  /**
   * Where `get()` reads: the records bucket itself (direct get, answered by any replica) on a
   * single replica; a handle without direct get (STREAM.MSG.GET, answered by the stream leader) on
   * a replicated bucket, because core confirms an expiry with that read and a lagging replica
   * could still hold the key (issue 12).
   */
  readonly reader: KV;
  /** Creation time of the records bucket's stream. */
  readonly streamCreated: string;
  /** Replicas of the records bucket's stream as the server has it (an existing bucket keeps its own). */
  readonly replicas: number;
  /** What the backend supports on these buckets: native expiry events only with limit markers. */
  readonly capabilities: BackendCapabilities;
}

/**
 * The namespace's history bucket for `ttl` (see bucket-layout.ts). Opened apart from the records
 * bucket: its stream elects its own leader, and `open()` need not wait for that (see
 * `NatsSession.openHistory`).
 */
export function openNamespaceHistory(kvm: Kvm, settings: NatsSettings, ttl: number): Promise<KV> {
  const { layout, storage, replicas } = settings;
  return openHistoryBucket(
    kvm,
    layout.history,
    { depth: settings.historyDepth, maxAge: Math.max(settings.historyRetention, ttl), storage, replicas },
    clientTimeout(settings.requestTimeout),
  );
}

/** Opens the namespace's records bucket for `ttl` (see bucket-layout.ts); `markerTTL` > 0 asks for limit markers. */
export async function openNamespaceBuckets(
  kvm: Kvm,
  settings: NatsSettings,
  ttl: number,
  markerTTL: number,
  logger: Logger,
): Promise<NamespaceBuckets> {
  const { layout, storage, replicas } = settings;
  const timeout = clientTimeout(settings.requestTimeout);
  const records = await openRecordsBucket(
    kvm,
    layout.records,
    { ttl, storage, history: settings.historyLimit, replicas, markerTTL },
    timeout,
  );
  const streamReplicas = records.status.streamInfo.config.num_replicas ?? 1;
  const reader = streamReplicas > 1 ? await kvm.open(layout.records, { allow_direct: false }) : records.kv;
  const markers = hasNativeExpiryEvents(markerTTL, records.status.markerTTL);
  if (markerTTL > 0 && !markers)
    logger.info(
      `NATS KV bucket "${layout.records}" was created without limit markers; expiry is detected client-side`,
    );
  return {
    records: records.kv,
    reader,
    streamCreated: records.status.streamInfo.created,
    replicas: streamReplicas,
    capabilities: { persistent: storage === 'file', history: true, nativeExpiryEvents: markers },
  };
}
