// Where a namespace lives on a NATS server (bucket and stream names) and how its buckets are created and checked.
import { StorageType } from '@nats-io/jetstream';
import type { KV, Kvm, KvOptions, KvStatus } from '@nats-io/kv';
import { ConfigMismatchError } from '@roster/core';

/**
 * Where a namespace lives on the server.
 * - `roster_<namespace>`: the records, one key per node id (ids are valid KV keys unchanged);
 *   MaxAge = ttl, so a key without a heartbeat ages out.
 * - `roster-history_<namespace>`: earlier states for `history()`, written only by puts that
 *   change more than `lastSeen`, with a MaxAge far beyond the ttl. The `-` keeps the name apart
 *   from every records bucket (a namespace `a_history` maps to `roster_a_history`).
 */
export interface BucketLayout {
  readonly records: string;
  readonly history: string;
  /** Subject prefix of a key in the records bucket: `$KV.roster_<namespace>.`. */
  readonly subjectPrefix: string;
  /** Stream behind the records bucket: `KV_roster_<namespace>`. */
  readonly stream: string;
}

export function bucketLayout(namespace: string): BucketLayout {
  const records = `roster_${namespace}`;
  return {
    records,
    history: `roster-history_${namespace}`,
    subjectPrefix: `$KV.${records}.`,
    stream: `KV_${records}`,
  };
}

export type StorageKind = 'file' | 'memory';

/** What a records bucket must be set up with. */
export interface RecordsBucketSpec {
  readonly ttl: number;
  readonly storage: StorageKind;
  readonly history: number;
  readonly replicas: number;
  /** > 0: ask the server for a MaxAge marker that lives this long (servers >= 2.11.2). */
  readonly markerTTL: number;
}

/** The opened records bucket and what it turned out to be. */
export interface RecordsBucket {
  readonly kv: KV;
  readonly status: KvStatus;
}

/**
 * The bucket's MaxAge for a ttl, in whole ms. nats.js sends MaxAge as `ttl * 1e6` ns and the
 * server only takes a whole number of ns, so a ttl such as 10_000 / 3 would be refused; rounding
 * up keeps a key for at least the ttl (rule 4 of docs/guarantees.md: never early) and late by
 * under a millisecond. The server reports MaxAge back in ns, which nats.js floors to whole ms:
 * the same number, so instances with the same ttl agree.
 */
export function bucketMaxAge(ttl: number): number {
  return Math.ceil(ttl);
}

function storageType(storage: StorageKind): StorageType {
  return storage === 'memory' ? StorageType.Memory : StorageType.File;
}

/**
 * Creates the records bucket, or opens an existing one and checks that it ages keys out after
 * the same ttl and stores them the same way. Adopting another TTL silently would make nodes
 * expire at a time no instance asked for, so a difference is a `ConfigMismatchError`.
 */
export async function openRecordsBucket(
  kvm: Kvm,
  name: string,
  spec: RecordsBucketSpec,
  timeout: number,
): Promise<RecordsBucket> {
  const options: Partial<KvOptions> = {
    ttl: bucketMaxAge(spec.ttl),
    history: spec.history,
    storage: storageType(spec.storage),
    replicas: spec.replicas,
    timeout,
    description: 'Roster node records: one key per node id',
  };
  if (spec.markerTTL > 0) options.markerTTL = spec.markerTTL;
  const kv = await kvm.create(name, options);
  const status = await kv.status();
  assertSameConfig(name, status, spec);
  return { kv, status };
}

/** Throws `ConfigMismatchError` naming both values when an existing bucket differs. */
export function assertSameConfig(
  name: string,
  status: Pick<KvStatus, 'ttl' | 'storage'>,
  spec: Pick<RecordsBucketSpec, 'ttl' | 'storage'>,
): void {
  if (status.ttl !== bucketMaxAge(spec.ttl))
    throw new ConfigMismatchError(
      `NATS KV bucket "${name}" exists with a TTL (MaxAge) of ${status.ttl} ms; this instance asked for ttl ${spec.ttl} ms. ` +
        'Every instance of a namespace must use the same ttl: change it, use another namespace, or delete the bucket',
    );
  const storage = String(status.storage) === StorageType.Memory ? 'memory' : 'file';
  if (storage !== spec.storage)
    throw new ConfigMismatchError(
      `NATS KV bucket "${name}" exists with ${storage} storage; this instance asked for ${spec.storage} storage. ` +
        'Use the same storage option on every instance, another namespace, or delete the bucket',
    );
}

/**
 * The history bucket. Its settings are not checked against other instances: history is a
 * convenience, and any MaxAge at least as long as the ttl keeps it useful.
 */
export async function openHistoryBucket(
  kvm: Kvm,
  name: string,
  spec: { depth: number; maxAge: number; storage: StorageKind; replicas: number },
  timeout: number,
): Promise<KV> {
  return kvm.create(name, {
    ttl: bucketMaxAge(spec.maxAge),
    history: spec.depth,
    storage: storageType(spec.storage),
    replicas: spec.replicas,
    timeout,
    description: 'Roster node history: states of each node that changed more than lastSeen',
  });
}
