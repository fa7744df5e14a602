import type { Logger } from '../types/logger.js';

/**
 * What a backend can do, read by core and by the conformance suite after `open()`
 * (as abstract-level's `db.supports`).
 */
export interface BackendCapabilities {
  /** Records outlive the connection that wrote them: a new process lists nodes registered earlier. */
  readonly persistent: boolean;
  /** `history(key)` returns earlier values of a key. */
  readonly history: boolean;
  /**
   * The change feed reports a key whose TTL ran out as a `delete` with reason `expired`.
   * When false, core's expiry sweeper suspects silent nodes and confirms each with `get()`.
   */
  readonly nativeExpiryEvents: boolean;
  /**
   * The store renews a key's TTL without a write (etcd lease keep-alive, a Redis deadline): a
   * `refreshOnly` put then rewrites no record, creates no revision and sends nothing through the
   * change feed; it resolves with the key's unchanged revision (rule 2 of docs/guarantees.md).
   * Other instances keep showing the `lastSeen` last written. Absent or false: every put is a write.
   * Core treats the unchanged revision as a success (never as a conflict) and shows the new
   * `lastSeen` on the owner. Without `nativeExpiryEvents` too, other instances cannot see a key
   * being renewed, so core's sweeper reads every watched key each `max(1_000, ttl / 4) / 2` ms
   * once its ttl has passed: prefer native expiry events on such a backend.
   */
  readonly silentHeartbeats?: boolean;
}

/** What core hands a backend when it opens it. */
export interface BackendOpenContext {
  /** Ms a key lives after its last `put`. The namespace must be set up (or verified) for it. */
  readonly ttl: number;
  /** Core's logger: report foreign data, reconnects, retries here. */
  readonly logger: Logger;
}

/** One stored key. `revision` grows with every change in the namespace (puts and deletes alike). */
export interface BackendEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
  /**
   * Optional, in entries of `list()`: ms since the key was last written (or renewed), measured
   * by the server's clock, never the writer's, as of when `list()` resolved. Core then times the
   * expiry of a listed key from it; without it, a backend without `nativeExpiryEvents` has each
   * listed key read every `max(1_000, ttl / 4) / 2` ms until a write of it arrives, since the
   * record's `lastSeen` (the owner's clock) is never trusted for timing (rule 16 of
   * docs/guarantees.md).
   */
  readonly age?: number;
}

/** A consistent list of the namespace and the position of the change feed right after it. */
export interface BackendSnapshot {
  readonly entries: readonly BackendEntry[];
  /** Opaque to core: handed back to `watch()` to get every change after the snapshot. */
  readonly cursor: string;
}

/**
 * One item of the change feed, in the order the store applied them.
 * - `put`: a key was created or replaced.
 * - `delete`: a key is gone; `reason` when the backend knows it (`expired` for a TTL that ran out),
 *   otherwise core infers it from the record's `lastSeen`.
 * - `resync`: continuity is lost (reconnect without a resumable cursor, stream purged, compaction).
 *   The watch delivers nothing more; core lists again and opens a new watch.
 */
export type BackendChange =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly revision: number }
  | {
      readonly type: 'delete';
      readonly key: string;
      readonly revision: number;
      readonly reason?: 'unregistered' | 'expired';
    }
  | { readonly type: 'resync'; readonly reason: string };

/** A running change feed. */
export interface BackendWatch {
  /** Stops delivery; nothing is delivered after the returned promise resolves. */
  stop(): Promise<void>;
}

/** Compare-and-set condition of `put` and `delete`. */
export interface WriteCondition {
  /**
   * Write only if the key's current revision is this one; `null`: only if the key is absent.
   * Omitted: write unconditionally.
   */
  readonly expectedRevision?: number | null;
}

/** Options of `put`. */
export interface PutOptions extends WriteCondition {
  /**
   * Only `lastSeen` changed (a plain heartbeat). A backend that keeps history may leave such a
   * write out of it; it must still restart the TTL. With `supports.silentHeartbeats` it may renew
   * the TTL without storing the value (the record, its revision and the feed stay as they were;
   * the result carries the unchanged revision); otherwise it stores the value like any put.
   * The condition (`expectedRevision`) is checked first either way.
   */
  readonly refreshOnly?: boolean;
}

/** Result of a `put`: `{ ok: true, revision }`, or `{ ok: false }` when the condition did not hold (nothing written). */
export type PutResult = { readonly ok: true; readonly revision: number } | { readonly ok: false };

/**
 * The backend SPI: a TTL'd key-value store with an ordered change feed. Keys are node ids
 * (already validated by core, and re-checked by the backend with `assertValidKey`); values are
 * opaque bytes (core's record codec). Semantics — events, ordering, expiry confirmation,
 * ownership — live in core; a backend does storage and protocol only.
 *
 * See docs/custom-backend.md for a complete example.
 */
export interface DiscoveryBackend {
  /**
   * Optional: the version of this contract the backend implements, as vercel/ai versions its
   * provider contracts, so that a later `v2` can live beside it. Absent means `v1`; core refuses
   * any other value with `InvalidOptionsError`.
   */
  readonly specificationVersion?: 'v1';
  /** Short lowercase name: `memory`, `nats`, `redis`, `etcd`, or your own. */
  readonly name: string;
  /**
   * Optional: the namespace this backend works in (its factory's `namespace` option, default
   * `default`). Core reports it as the `roster.namespace` attribute of its metrics
   * (docs/metrics.md); a backend without it gets metrics without that attribute.
   */
  readonly namespace?: string;
  /** What the backend can do. Read after `open()` resolves. */
  readonly supports: BackendCapabilities;
  /**
   * Connects, creates or verifies the namespace. An existing namespace set up with another TTL
   * (or another incompatible setting) rejects with `ConfigMismatchError`; an unreachable server
   * with `BackendUnavailableError` within the connect timeout. A backend is opened once: a second
   * `open()` rejects with `InvalidOptionsError` (one backend per `createDiscovery()`), one after
   * `close()` with `DiscoveryClosedError` (`BackendLifecycle` in `@roster/core/spi` does both).
   */
  open(context: BackendOpenContext): Promise<void>;
  /** Creates or replaces a key, restarting its TTL. */
  put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult>;
  /**
   * Deletes a key (a `delete` without reason `expired` in the feed). Resolves false when nothing
   * was deleted. `expectedRevision: n` deletes only the key at revision `n`; `expectedRevision:
   * null` ("only if absent") therefore never deletes anything and resolves false.
   */
  delete(key: string, condition?: WriteCondition): Promise<boolean>;
  /** Reads one key from the server (not from a cache): core confirms suspected expiries with it. */
  get(key: string): Promise<BackendEntry | undefined>;
  /** Lists every live key of the namespace and the cursor to watch from. */
  list(): Promise<BackendSnapshot>;
  /**
   * Delivers every change after `cursor`, in order, to `onChange`, until stopped or after a
   * `resync`. A cursor this backend's `list()` never returned throws `InvalidOptionsError` (see
   * `invalidCursor` in `@roster/core/spi`); one too old to resume from is a `resync`.
   */
  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch;
  /**
   * Values of a key, newest first (the current one first when it exists), at most `limit`.
   * Only with `supports.history`. A backend may keep plain heartbeats (`refreshOnly` puts) in
   * history; core then asks for more and collapses runs that differ only in `lastSeen`.
   */
  history?(key: string, limit: number): Promise<Uint8Array[]>;
  /**
   * Optional. Whether the namespace exists and, when it does, the ttl it was set up with, read
   * without creating or changing anything: read-only tools (`roster ls`, `get`, `watch`,
   * `history`) call it so that looking at a namespace never creates it with a ttl its
   * applications do not use. Callable before `open()`, instead of it, or after it (not after
   * `close()`: then it rejects `DiscoveryClosedError`); it opens what it needs and releases it
   * before it settles, so the backend can still be opened afterwards and needs no `close()` for
   * it. A namespace whose settings cannot be read rejects `ConfigMismatchError`; an unreachable
   * server `BackendUnavailableError` within the backend's timeout. Without it, tools fall back to
   * `open()`, which creates an absent namespace.
   */
  inspect?(): Promise<NamespaceInspection>;
  /**
   * Closes what the backend opened (never a connection the user passed in). Idempotent: a second
   * call, two at once, and a call on a backend never opened (or whose `open()` failed) resolve.
   */
  close(): Promise<void>;
}

/**
 * What `inspect()` found. `ttl` is the one the namespace was set up with, as `open()` would
 * compare it: opening with exactly this ttl never rejects `ConfigMismatchError` for the ttl.
 */
export type NamespaceInspection =
  | { readonly exists: false }
  | { readonly exists: true; readonly ttl: number };

/** What a backend factory (`memoryBackend`, `natsBackend` …) takes in common. */
export interface BackendFactoryOptions {
  /** Isolates one cluster from another on the same server. Default `default`. */
  namespace?: string;
}
