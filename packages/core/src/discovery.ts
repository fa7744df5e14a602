import { deleteIfOurs } from './compare-and-set-delete.js';
import {
  DiscoveryClosedError,
  InvalidOptionsError,
  NodeNotRegisteredError,
  UnsupportedCapabilityError,
} from './errors.js';
import { ExpirySweeper, type ExpiryVerdict } from './expiry-sweeper.js';
import { HeartbeatScheduler } from './heartbeat-scheduler.js';
import { readHistory } from './history-reader.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';
import { LocalView } from './local-view.js';
import { matchesFilter } from './node-filter-match.js';
import { nodeFrom } from './node-from.js';
import { OwnedDeletes } from './owned-deletes.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { assertValidBatch, concurrencyOf, mapBounded } from './register-many.js';
import { type ResolvedOptions, resolveOptions } from './resolve-options.js';
import { RetryBackoff } from './retry-backoff.js';
import { settleWithin } from './settle-within.js';
import type {
  BackendChange,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
} from './spi/discovery-backend.js';
import type { DiscoveryOptions, OwnNodeLostReason } from './types/discovery-options.js';
import type { Logger } from './types/logger.js';
import type { NodeChangeEvent } from './types/node-change-event.js';
import type { NodeDiscovery } from './types/node-discovery.js';
import type { NodeFilter } from './types/node-filter.js';
import type { NodeInfo } from './types/node-info.js';
import type { NodeRegistration } from './types/node-registration.js';
import type { RegisterManyOptions } from './types/register-many-options.js';
import type { WatchOptions } from './types/watch-options.js';
import { assertValidKey, assertValidLoad, assertValidRegistration } from './validation.js';
import { WatchHub } from './watch-hub.js';

/**
 * Opens the backend, lists the namespace, starts watching it, and returns a running instance.
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { memoryBackend } from '@roster/memory';
 *
 * await using discovery = await createDiscovery({ backend: memoryBackend(), ttl: 10_000 });
 * await discovery.register({ id: 'api-1', address: '10.0.0.5:8080', metadata: { role: 'api' } });
 * console.log(discovery.list({ metadata: { role: 'api' } }));
 * ```
 */
export async function createDiscovery(options: DiscoveryOptions): Promise<NodeDiscovery> {
  const discovery = new Discovery(resolveOptions(options));
  await discovery.start();
  return discovery;
}

/** What this instance knows about a node it owns: the record it last wrote and at which revision. */
interface Owned {
  info: NodeInfo;
  revision: number;
  /** The heartbeat on its way to the store: its echo in the feed needs no decoding. */
  writing?: { readonly bytes: Uint8Array; readonly info: NodeInfo };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

type State = 'opening' | 'open' | 'closing' | 'closed';

/**
 * How long `close()` waits for in-flight operations, unregistering and stopping the feed, all
 * together: twice the shipped backends' request timeout (5 s). A backend should time out its own
 * calls (rule 14); this bound only makes sure that one that never answers cannot hang `close()`.
 */
const CLOSE_SETTLE_MS = 10_000;
/** How long `close()` (and a failed open) waits for `backend.close()`: one request timeout. */
const BACKEND_CLOSE_MS = 5_000;
/**
 * How long an owner whose heartbeat found its record gone waits for the feed to say whether it
 * expired or was deleted (the propagation bound of rule 1).
 */
const FEED_GRACE_MS = 1_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function newInstanceId(): string {
  return globalThis.crypto.randomUUID();
}

function byId(a: NodeInfo, b: NodeInfo): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function closedIterable(): AsyncIterable<NodeChangeEvent> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.reject(new DiscoveryClosedError()),
      return: () => Promise.resolve({ value: undefined, done: true as const }),
    }),
  };
}

class Discovery implements NodeDiscovery {
  readonly backendName: string;
  private readonly backend: DiscoveryBackend;
  private readonly logger: Logger;
  private readonly options: ResolvedOptions;
  private readonly hub: WatchHub;
  private readonly view: LocalView;
  private readonly owned = new Map<string, Owned>();
  /** Why ids this instance owned were lost, for the message of a later `heartbeat()`. */
  private readonly lostReasons = new Map<string, OwnNodeLostReason>();
  /** Deletes of owned records the feed reported, with their reason. */
  private readonly ownedDeletes = new OwnedDeletes();
  /** Paces re-lists and feed restarts (rule 15). */
  private readonly backoff = new RetryBackoff();
  private readonly perId = new KeyedSerialQueue();
  private readonly scheduler: HeartbeatScheduler;
  private readonly shutdown = new AbortController();
  private sweeper: ExpirySweeper | undefined;
  private feed: BackendWatch | undefined;
  private feedGeneration = 0;
  private syncing: Promise<void> | undefined;
  private resyncAgain = false;
  private state: State = 'opening';
  private closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.backend = options.backend;
    this.backendName = options.backend.name;
    this.logger = options.logger;
    this.hub = new WatchHub();
    this.view = new LocalView((event) => this.hub.publish(event), options.ttl);
    this.scheduler = new HeartbeatScheduler(options.heartbeatInterval, (id) => this.autoBeat(id));
  }

  async start(): Promise<void> {
    try {
      await this.backend.open({ ttl: this.options.ttl, logger: this.logger });
      if (!this.backend.supports.nativeExpiryEvents)
        this.sweeper = new ExpirySweeper(this.options.ttl, (id) => this.confirmExpiry(id), {
          silentHeartbeats: this.backend.supports.silentHeartbeats ?? false,
        });
      await this.synchronize(true);
      this.state = 'open';
    } catch (error) {
      this.state = 'closed';
      this.shutdown.abort();
      this.sweeper?.stop();
      // Bounded: a failed open must reject, and leave nothing running, even if close() hangs.
      const closed = await settleWithin(this.backend.close(), BACKEND_CLOSE_MS);
      if (!closed.settled)
        this.logger.warn(`closing the ${this.backendName} backend after a failed open did not finish`);
      throw error;
    }
  }

  // ---- public API -------------------------------------------------------------------------

  async register(registration: NodeRegistration): Promise<NodeInfo> {
    this.assertOpen();
    assertValidRegistration(registration);
    return this.registerValid(registration);
  }

  async registerMany(
    registrations: readonly NodeRegistration[],
    options?: RegisterManyOptions,
  ): Promise<NodeInfo[]> {
    this.assertOpen();
    const concurrency = concurrencyOf(options);
    assertValidBatch(registrations);
    return mapBounded(registrations, concurrency, (registration) => this.registerValid(registration));
  }

  private registerValid(registration: NodeRegistration): Promise<NodeInfo> {
    const id = registration.id;
    return this.perId.run(id, async () => {
      this.assertOpen();
      const own = this.owned.get(id);
      if (own) {
        const next = nodeFrom(registration, own.info.instanceId, own.info.registeredAt, Date.now());
        const result = await this.backend.put(id, encodeRecord(next), { expectedRevision: own.revision });
        if (result.ok) {
          this.wrote(own, next, result.revision);
          this.scheduler.postpone(id);
          return next;
        }
        // Someone else wrote the id since our last write: an explicit register takes it back.
        this.disown(id);
      }
      const info = nodeFrom(registration, newInstanceId(), Date.now(), Date.now());
      const result = await this.backend.put(id, encodeRecord(info));
      if (!result.ok) throw new Error(`backend ${this.backendName} refused an unconditional put of "${id}"`);
      this.adopt(info, result.revision);
      return info;
    });
  }

  async heartbeat(id: string, load?: number): Promise<void> {
    this.assertOpen();
    assertValidKey(id);
    if (load !== undefined) assertValidLoad(load, id);
    // Ownership is checked inside the queue: a re-registration under way there must finish first.
    await this.perId.run(id, () => this.beat(id, load, true));
  }

  async unregister(id: string): Promise<void> {
    this.assertOpen();
    assertValidKey(id);
    await this.perId.run(id, async () => {
      this.assertOpen();
      const own = this.owned.get(id);
      this.disown(id);
      let removed = true;
      try {
        if (own) removed = await deleteIfOurs(this.backend, id, own.revision, own.info.instanceId);
        else await this.backend.delete(id);
      } catch (error) {
        if (own && this.state === 'open') this.adopt(own.info, own.revision);
        throw error;
      }
      this.lostReasons.delete(id);
      // Another instance's registration now: given up, and left to the feed (replaced, joined).
      if (!removed) return;
      this.sweeper?.forget(id);
      this.view.applyDelete(id, undefined, 'unregistered', Date.now());
    });
  }

  get(id: string): NodeInfo | undefined {
    this.assertReadable();
    return this.view.entry(id)?.node;
  }

  list(filter?: NodeFilter): NodeInfo[] {
    this.assertReadable();
    const nodes: NodeInfo[] = [];
    for (const node of this.view.nodes()) if (matchesFilter(node, filter)) nodes.push(node);
    return nodes.sort(byId);
  }

  watch(options: WatchOptions = {}): AsyncIterable<NodeChangeEvent> {
    if (this.state !== 'open') return closedIterable();
    return this.hub.subscribe(options, () => [...this.view.nodes()].sort(byId));
  }

  async history(id: string, limit = 10): Promise<NodeInfo[]> {
    this.assertOpen();
    assertValidKey(id);
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidOptionsError(`history limit must be a whole number >= 1, got ${String(limit)}`);
    if (!this.backend.supports.history || !this.backend.history)
      throw new UnsupportedCapabilityError(
        `the ${this.backendName} backend keeps no history of records (supports.history is false)`,
      );
    const history = this.backend.history.bind(this.backend);
    const own = this.owned.get(id);
    const states = await readHistory(
      (count) => history(id, count),
      (value) => this.decode(id, value, -1),
      limit,
      own ? this.view.entry(id)?.node : undefined,
    );
    return states;
  }

  close(options: { unregister?: boolean } = {}): Promise<void> {
    if (!this.closing) {
      this.state = 'closing';
      this.closing = this.shutDown(options.unregister ?? true);
    }
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- ownership ------------------------------------------------------------------------------

  private adopt(info: NodeInfo, revision: number): void {
    const own: Owned = { info, revision };
    this.owned.set(info.id, own);
    this.lostReasons.delete(info.id);
    this.ownedDeletes.forget(info.id);
    this.wrote(own, info, revision);
    if (this.options.autoHeartbeat) this.scheduler.start(info.id);
  }

  private disown(id: string): void {
    this.owned.delete(id);
    this.scheduler.cancel(id);
    this.ownedDeletes.forget(id);
  }

  /**
   * Our own write landed: the local view shows it at once (the feed's echo is then a no-op).
   * A `renewed` write is a plain heartbeat on a backend with silent heartbeats: the revision did
   * not move, and the view still takes the new `lastSeen`.
   */
  private wrote(own: Owned, info: NodeInfo, revision: number, renewed = false): void {
    own.info = info;
    own.revision = revision;
    const now = Date.now();
    const applied = renewed
      ? this.view.applyRenewal(info, revision, now)
      : this.view.applyPut(info, revision, now);
    if (applied) this.sweeper?.seen(info.id, now);
  }

  private async autoBeat(id: string): Promise<void> {
    try {
      await this.perId.run(id, () => this.beat(id, undefined, false));
    } catch (error) {
      this.logger.warn(`heartbeat of "${id}" failed; retrying at the next interval`, { id, error });
    }
  }

  /** One compare-and-set heartbeat; a conflict is looked into, never overwritten. */
  private async beat(id: string, load: number | undefined, explicit: boolean): Promise<void> {
    if (this.state !== 'open') {
      if (explicit) throw new DiscoveryClosedError();
      return;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const own = this.owned.get(id);
      if (!own) {
        if (explicit) throw this.notOwned(id);
        return;
      }
      const next: NodeInfo = Object.freeze({
        ...own.info,
        load: load ?? own.info.load,
        lastSeen: Date.now(),
      });
      const refreshOnly = next.load === own.info.load;
      const bytes = encodeRecord(next);
      own.writing = { bytes, info: next };
      let result: Awaited<ReturnType<DiscoveryBackend['put']>>;
      try {
        result = await this.backend.put(id, bytes, { expectedRevision: own.revision, refreshOnly });
      } finally {
        own.writing = undefined;
      }
      if (this.owned.get(id) !== own) continue;
      if (result.ok) {
        // With supports.silentHeartbeats a refreshOnly put answers with the unchanged revision:
        // a success like any other, not a conflict.
        const renewed = refreshOnly && this.backend.supports.silentHeartbeats === true;
        this.wrote(own, next, result.revision, renewed);
        return;
      }
      if ((await this.inspectOwned(id, own)) === 'lost') {
        if (explicit && !this.owned.has(id)) throw this.notOwned(id);
        return;
      }
    }
  }

  /**
   * Reads an owned record whose revision moved. Still ours (a write whose answer we missed):
   * adopt the revision. Someone else's: given up (`replaced`). Gone: lost, for the reason
   * `goneReason` finds, then registered again if configured.
   */
  private async inspectOwned(id: string, own: Owned): Promise<'ours' | 'lost'> {
    const current = await this.backend.get(id);
    if (this.owned.get(id) !== own) return 'lost';
    if (current) {
      const decoded = decodeRecord(id, current.value);
      if (decoded.ok && decoded.node.instanceId === own.info.instanceId) {
        own.revision = current.revision;
        // A delete the feed reported was of an older write: it says nothing about this record.
        this.ownedDeletes.forget(id);
        return 'ours';
      }
      await this.loseOwned(id, own, 'replaced');
      return 'lost';
    }
    const reason = await this.goneReason(id);
    if (this.owned.get(id) !== own) return 'lost';
    await this.loseOwned(id, own, reason);
    return 'lost';
  }

  /**
   * Why an owned record is gone (rule 3: the owner sees `unregistered` like everyone else, even
   * when its heartbeat noticed before its feed did). The feed says why when it reports the delete,
   * so its reason is taken if it has come or comes within max(`FEED_GRACE_MS`, ttl) — a feed
   * lagging that far behind the store is in trouble anyway. Without it the loss is `expired`
   * (rule 6: `unregistered` only when an explicit delete was seen). Guessing
   * `unregistered` from the time since our last accepted write is wrong after a failover: a
   * promoted replica may have lost writes it had acknowledged (found by the chaos run on Sentinel).
   */
  private async goneReason(id: string): Promise<OwnNodeLostReason> {
    const noted = this.ownedDeletes.reasonOf(id);
    if (noted) return noted;
    const reported = await this.ownedDeletes.wait(
      id,
      Math.max(FEED_GRACE_MS, this.options.ttl),
      this.shutdown.signal,
    );
    return reported ?? 'expired';
  }

  private async loseOwned(id: string, own: Owned, reason: OwnNodeLostReason): Promise<void> {
    this.disown(id);
    this.lostReasons.set(id, reason);
    this.logger.warn(`owned node "${id}" was lost (${reason})`, {
      id,
      reason,
      instanceId: own.info.instanceId,
    });
    // The store no longer holds our record: the local view must not keep showing it.
    if (reason !== 'replaced') {
      this.sweeper?.forget(id);
      this.view.applyDelete(id, undefined, reason, Date.now());
    }
    try {
      this.options.onOwnNodeLost?.(own.info, reason);
    } catch (error) {
      this.logger.error('onOwnNodeLost threw', { id, error });
    }
    if (reason === 'replaced' || !this.options.reregister || this.state !== 'open') return;
    const info = nodeFrom(own.info, newInstanceId(), Date.now(), Date.now());
    // Create-only: if another instance took the id meanwhile, the newer registration wins.
    const result = await this.backend.put(id, encodeRecord(info), { expectedRevision: null });
    if (!result.ok) {
      this.lostReasons.set(id, 'replaced');
      this.logger.info(`node "${id}" was taken by another instance before it could be registered again`, {
        id,
      });
      return;
    }
    if (this.state !== 'open') return;
    this.adopt(info, result.revision);
    this.logger.info(`node "${id}" registered again`, { id, instanceId: info.instanceId });
  }

  private checkOwned(id: string): void {
    const own = this.owned.get(id);
    if (!own) return;
    void this.perId
      .run(id, async () => {
        if (this.owned.get(id) === own && this.state === 'open') await this.inspectOwned(id, own);
      })
      .catch((error) => this.logger.warn(`could not check owned node "${id}"`, { id, error }));
  }

  private notOwned(id: string): NodeNotRegisteredError {
    const lost = this.lostReasons.get(id);
    return new NodeNotRegisteredError(
      lost
        ? `node "${id}" is no longer owned by this instance: it was lost (${lost}); register() it again`
        : `node "${id}" is not registered by this instance; heartbeat() only refreshes nodes this instance registered`,
    );
  }

  // ---- the feed ---------------------------------------------------------------------------

  /** Lists the namespace, makes the view match it, then watches from the snapshot's cursor. */
  private async synchronize(initial: boolean): Promise<void> {
    const generation = ++this.feedGeneration;
    const previous = this.feed;
    this.feed = undefined;
    await previous?.stop().catch((error) => this.logger.debug('stopping the feed failed', { error }));
    for (;;) {
      if (this.shutdown.signal.aborted || generation !== this.feedGeneration) return;
      try {
        // From here on the view remembers what this instance changes: the snapshot may predate it.
        this.view.beginList();
        const snapshot = await this.backend.list();
        if (this.shutdown.signal.aborted || generation !== this.feedGeneration) return;
        this.applySnapshot(snapshot);
        this.feed = this.backend.watch(snapshot.cursor, (change) => {
          if (generation === this.feedGeneration) this.onChange(change);
        });
        this.backoff.running();
        return;
      } catch (error) {
        if (initial) throw error;
        const delay = this.backoff.failed();
        this.logger.warn('could not list the namespace or start its feed; retrying', { delay, error });
        await sleep(delay, this.shutdown.signal);
      }
    }
  }

  /**
   * Continuity is lost: list again and restart the feed. A feed that fails right after it
   * started (or keeps asking for a resync) counts as a failure of the last attempt, so the
   * retries back off (rule 15) instead of listing the namespace in a loop.
   */
  private requestResync(reason: string): void {
    if (this.shutdown.signal.aborted) return;
    if (this.syncing) {
      this.resyncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.resyncAgain = false;
        const delay = this.backoff.failed();
        this.logger.info(`resynchronising with the ${this.backendName} backend: ${reason}`, { delay });
        await sleep(delay, this.shutdown.signal);
        await this.synchronize(false);
      } while (this.resyncAgain && !this.shutdown.signal.aborted);
    })().finally(() => {
      this.syncing = undefined;
    });
  }

  private applySnapshot(snapshot: BackendSnapshot): void {
    const now = Date.now();
    const nodes: { node: NodeInfo; revision: number; age?: number }[] = [];
    const ages = new Map<string, number>();
    for (const entry of snapshot.entries) {
      const node = this.decode(entry.key, entry.value, entry.revision);
      if (!node) continue;
      const age =
        typeof entry.age === 'number' && Number.isFinite(entry.age) && entry.age >= 0 ? entry.age : undefined;
      if (age !== undefined) ages.set(node.id, age);
      nodes.push({ node, revision: entry.revision, ...(age !== undefined ? { age } : {}) });
    }
    const result = this.view.reconcile(nodes, now);
    if (this.sweeper) {
      // A listed record is timed from its age by the server's clock when the backend gives it;
      // otherwise when it was written is unknown (its lastSeen is the owner's clock): probe it.
      for (const id of result.listed) {
        const age = ages.get(id);
        if (age !== undefined) this.sweeper.seen(id, now - age);
        else this.sweeper.listed(id, now);
      }
      for (const id of result.dropped) this.sweeper.forget(id);
    }
    const unconfirmed = new Set(result.unconfirmed);
    // Owned records the store lost meanwhile (an outage past the TTL, a server without
    // persistence), and owned records kept though the snapshot lacked them.
    for (const [id, own] of this.owned) {
      if (unconfirmed.has(id) || this.view.entry(id)?.node.instanceId !== own.info.instanceId)
        this.checkOwned(id);
    }
    for (const id of unconfirmed) if (!this.owned.has(id)) void this.confirmKept(id);
  }

  /**
   * A node the snapshot lacked was kept because the view changed it during the list: a read
   * tells whether it was created after the snapshot (keep) or deleted before it (drop).
   */
  private async confirmKept(id: string): Promise<void> {
    const known = this.view.entry(id);
    if (!known) return;
    let current: Awaited<ReturnType<DiscoveryBackend['get']>>;
    try {
      current = await this.backend.get(id);
    } catch (error) {
      this.logger.debug(`could not confirm "${id}" after a list`, { id, error });
      return;
    }
    if (current || this.state !== 'open' || this.view.entry(id) !== known) return;
    this.sweeper?.forget(id);
    this.view.applyDelete(id, undefined, undefined, Date.now());
  }

  private onChange(change: BackendChange): void {
    if (this.state === 'closed') return;
    const now = Date.now();
    switch (change.type) {
      case 'resync':
        this.requestResync(change.reason);
        return;
      case 'put': {
        // The echo of our own write (or anything older than the view) needs no decoding.
        const known = this.view.entry(change.key);
        if (known && change.revision <= known.revision) return;
        const writing = this.owned.get(change.key)?.writing;
        const node =
          writing && sameBytes(writing.bytes, change.value)
            ? writing.info
            : this.decode(change.key, change.value, change.revision);
        if (!node) {
          // Another writer put something unreadable over a node: it is no longer a member.
          if (this.view.applyDelete(change.key, change.revision, 'replaced', now))
            this.sweeper?.forget(change.key);
          return;
        }
        if (!this.view.applyPut(node, change.revision, now)) return;
        this.sweeper?.seen(node.id, now);
        const own = this.owned.get(node.id);
        if (own && node.instanceId !== own.info.instanceId) this.checkOwned(node.id);
        return;
      }
      case 'delete': {
        const left = this.view.applyDelete(change.key, change.revision, change.reason, now);
        if (!left) return;
        this.sweeper?.forget(change.key);
        if (this.owned.has(change.key)) {
          this.ownedDeletes.note(change.key, left.reason);
          this.checkOwned(change.key);
        }
        return;
      }
    }
  }

  /** The sweeper suspects `id`: read the server to see whether it is really gone. */
  private async confirmExpiry(id: string): Promise<ExpiryVerdict> {
    const known = this.view.entry(id);
    if (!known || this.state === 'closed') return 'gone';
    let current: Awaited<ReturnType<DiscoveryBackend['get']>>;
    try {
      current = await this.backend.get(id);
    } catch (error) {
      this.logger.debug(`could not confirm the expiry of "${id}"`, { id, error });
      return 'unknown';
    }
    if (this.view.entry(id) !== known) return 'changed';
    const now = Date.now();
    if (!current) {
      this.view.applyDelete(id, undefined, 'expired', now);
      if (this.owned.has(id)) {
        this.ownedDeletes.note(id, 'expired');
        this.checkOwned(id);
      }
      return 'gone';
    }
    if (current.revision === known.revision) return 'alive';
    const node = this.decode(id, current.value, current.revision);
    if (node && this.view.applyPut(node, current.revision, now)) {
      this.sweeper?.seen(id, now);
      return 'changed';
    }
    return 'alive';
  }

  private decode(key: string, value: Uint8Array, revision: number): NodeInfo | undefined {
    const result = decodeRecord(key, value);
    if (result.ok) return result.node;
    this.logger.warn(`skipped a value under "${key}" that is not a Roster record: ${result.problem}`, {
      key,
      revision,
      backend: this.backendName,
    });
    return undefined;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Every wait here is bounded (rule 14): in-flight operations, unregistering and stopping the
   * feed share `CLOSE_SETTLE_MS`, then `backend.close()` gets `BACKEND_CLOSE_MS`. So `close()`
   * resolves within 15 s even when the backend never answers, and leaves no timer of core's.
   */
  private async shutDown(unregister: boolean): Promise<void> {
    // Watchers end first: our own leave events are not news to this instance's iterators.
    this.hub.endAll();
    this.scheduler.stop();
    this.sweeper?.stop();
    // Ends backoff sleeps and waits for the feed at once; nothing new starts after this.
    this.shutdown.abort();
    const deadline = Date.now() + CLOSE_SETTLE_MS;
    const bounded = async (what: string, work: Promise<unknown>) => {
      const outcome = await settleWithin(work, deadline - Date.now());
      if (!outcome.settled)
        this.logger.warn(`close(): gave up waiting for the ${this.backendName} backend (${what})`, {
          timeout: CLOSE_SETTLE_MS,
        });
    };
    this.feedGeneration++;
    const feed = this.feed;
    this.feed = undefined;
    // The feed stops while owned nodes are unregistered: on a frozen server both wait at once.
    const stopping = Promise.all([
      feed?.stop().catch((error) => this.logger.debug('stopping the feed failed', { error })),
      this.syncing,
    ]);
    // Each owned id is deleted as soon as its own operations under way have settled (not after
    // everyone's), then ids that a register still under way adopted get their turn.
    const handled = new Set<string>();
    const unregisterOwned = () =>
      Promise.all(
        [...this.owned.keys()]
          .filter((id) => !handled.has(id))
          .map((id) => {
            handled.add(id);
            return this.perId.run(id, async () => {
              const own = this.owned.get(id);
              if (!own) return;
              await deleteIfOurs(this.backend, id, own.revision, own.info.instanceId).catch((error) =>
                this.logger.warn(`could not unregister "${id}" while closing`, { id, error }),
              );
            });
          }),
      );
    await bounded(
      unregister ? 'unregistering owned nodes' : 'operations under way',
      (async () => {
        if (unregister) await unregisterOwned();
        await this.perId.drain();
        if (unregister) await unregisterOwned();
      })(),
    );
    this.owned.clear();
    await bounded('stopping the feed', stopping);
    const closed = await settleWithin(this.backend.close(), BACKEND_CLOSE_MS);
    if (closed.settled && !closed.ok) this.logger.warn('closing the backend failed', { error: closed.error });
    if (!closed.settled)
      this.logger.warn(`close(): the ${this.backendName} backend's close() did not finish`, {
        timeout: BACKEND_CLOSE_MS,
      });
    this.state = 'closed';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new DiscoveryClosedError();
  }

  private assertReadable(): void {
    if (this.state === 'closing' || this.state === 'closed') throw new DiscoveryClosedError();
  }
}
