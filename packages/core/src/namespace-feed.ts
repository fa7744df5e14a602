// Keeps the local view in step with the store: lists the namespace, watches it from the
// snapshot's cursor, re-lists when continuity is lost (rules 8, 15 and 17 of docs/guarantees.md),
// and confirms the expiries the sweeper suspects on backends without native expiry events (rule 4).

import { type DiscoveryContext, decodeOrSkip } from './discovery-context.js';
import { ExpirySweeper, type ExpiryVerdict } from './expiry-sweeper.js';
import type { OwnedNodes } from './owned-nodes.js';
import { RetryBackoff } from './retry-backoff.js';
import type {
  BackendChange,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
} from './spi/discovery-backend.js';

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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // An in-process backend may hand the feed the very array that was written.
  if (a === b) return true;
  // `length` read once: `byteLength` in the loop condition is a getter V8 does not hoist, and
  // made this compare (run for each echo that beats its put's answer) 10× slower.
  const length = a.length;
  if (length !== b.length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class NamespaceFeed {
  /** Present when the backend has no native expiry events; created by `start()`. */
  sweeper: ExpirySweeper | undefined;
  /** Paces re-lists and feed restarts (rule 15). */
  private readonly backoff = new RetryBackoff();
  private feed: BackendWatch | undefined;
  private generation = 0;
  private syncing: Promise<void> | undefined;
  private resyncAgain = false;

  constructor(
    private readonly context: DiscoveryContext,
    private readonly owned: OwnedNodes,
  ) {}

  /** After `backend.open()`: the first list and feed; a failure rejects (open fails). */
  async start(): Promise<void> {
    const { backend, options } = this.context;
    if (!backend.supports.nativeExpiryEvents)
      this.sweeper = new ExpirySweeper(options.ttl, (id) => this.confirmExpiry(id), {
        silentHeartbeats: backend.supports.silentHeartbeats ?? false,
      });
    await this.synchronize(true);
  }

  /** Stops the sweeper at once (close, failed open). */
  stopSweeper(): void {
    this.sweeper?.stop();
  }

  /** Close: stops the feed and waits for a re-list under way. Never rejects. */
  stop(): Promise<unknown> {
    this.generation++;
    const feed = this.feed;
    this.feed = undefined;
    return Promise.all([
      feed?.stop().catch((error) => this.context.logger.debug('stopping the feed failed', { error })),
      this.syncing,
    ]);
  }

  /** Lists the namespace, makes the view match it, then watches from the snapshot's cursor. */
  private async synchronize(initial: boolean): Promise<void> {
    const { backend, logger, shutdown } = this.context;
    const generation = ++this.generation;
    const previous = this.feed;
    this.feed = undefined;
    await previous?.stop().catch((error) => logger.debug('stopping the feed failed', { error }));
    for (;;) {
      if (shutdown.aborted || generation !== this.generation) return;
      try {
        // From here on the view remembers what this instance changes: the snapshot may predate it.
        this.context.view.beginList();
        const snapshot = await backend.list();
        if (shutdown.aborted || generation !== this.generation) return;
        this.applySnapshot(snapshot);
        this.feed = backend.watch(snapshot.cursor, (change) => {
          if (generation === this.generation) this.onChange(change);
        });
        this.backoff.running();
        return;
      } catch (error) {
        if (initial) throw error;
        const delay = this.backoff.failed();
        logger.warn('could not list the namespace or start its feed; retrying', { delay, error });
        await sleep(delay, shutdown);
      }
    }
  }

  /**
   * Continuity is lost: list again and restart the feed. A feed that fails right after it
   * started (or keeps asking for a resync) counts as a failure of the last attempt, so the
   * retries back off (rule 15) instead of listing the namespace in a loop.
   */
  private requestResync(reason: string): void {
    const { shutdown } = this.context;
    if (shutdown.aborted) return;
    this.context.metrics.resync();
    if (this.syncing) {
      this.resyncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.resyncAgain = false;
        const delay = this.backoff.failed();
        this.context.logger.info(`resynchronising with the ${this.context.backendName} backend: ${reason}`, {
          delay,
        });
        await sleep(delay, shutdown);
        await this.synchronize(false);
      } while (this.resyncAgain && !shutdown.aborted);
    })().finally(() => {
      this.syncing = undefined;
    });
  }

  private applySnapshot(snapshot: BackendSnapshot): void {
    const now = Date.now();
    const { view } = this.context;
    const sweeper = this.sweeper;
    const result = view.reconcile(snapshot.entries, now, {
      node: (entry) => decodeOrSkip(this.context, entry.key, entry.value, entry.revision),
      // A listed record is timed from its age by the server's clock when the backend gives it;
      // otherwise when it was written is unknown (its lastSeen is the owner's clock): probe it.
      listed: sweeper
        ? (id, entry) => {
            const age = entry.age;
            if (typeof age === 'number' && Number.isFinite(age) && age >= 0) sweeper.seen(id, now - age);
            else sweeper.listed(id, now);
          }
        : undefined,
    });
    if (sweeper) for (const id of result.dropped) sweeper.forget(id);
    const unconfirmed = new Set(result.unconfirmed);
    // Owned records the store lost meanwhile (an outage past the TTL, a server without
    // persistence), and owned records kept though the snapshot lacked them.
    for (const [id, own] of this.owned.entries()) {
      if (unconfirmed.has(id) || view.entry(id)?.node.instanceId !== own.info.instanceId)
        this.owned.check(id);
    }
    for (const id of unconfirmed) if (!this.owned.has(id)) void this.confirmKept(id);
  }

  /**
   * A node the snapshot lacked was kept because the view changed it during the list: a read
   * tells whether it was created after the snapshot (keep) or deleted before it (drop).
   */
  private async confirmKept(id: string): Promise<void> {
    const { view } = this.context;
    const known = view.entry(id);
    if (!known) return;
    let current: Awaited<ReturnType<DiscoveryBackend['get']>>;
    try {
      current = await this.context.backend.get(id);
    } catch (error) {
      this.context.logger.debug(`could not confirm "${id}" after a list`, { id, error });
      return;
    }
    if (current || this.context.state !== 'open' || view.entry(id) !== known) return;
    this.sweeper?.forget(id);
    view.applyDelete(id, undefined, undefined, Date.now());
  }

  private onChange(change: BackendChange): void {
    if (this.context.state === 'closed') return;
    const { view } = this.context;
    const now = Date.now();
    switch (change.type) {
      case 'resync':
        this.requestResync(change.reason);
        return;
      case 'put': {
        // The echo of our own write (or anything older than the view) needs no decoding.
        const known = view.entry(change.key);
        if (known && change.revision <= known.revision) return;
        const writing = this.owned.get(change.key)?.writing;
        const node =
          writing && sameBytes(writing.bytes, change.value)
            ? writing.info
            : decodeOrSkip(this.context, change.key, change.value, change.revision);
        if (!node) {
          // Another writer put something unreadable over a node: it is no longer a member.
          if (view.applyDelete(change.key, change.revision, 'replaced', now))
            this.sweeper?.forget(change.key);
          return;
        }
        if (!view.applyPut(node, change.revision, now)) return;
        this.sweeper?.seen(node.id, now);
        const own = this.owned.get(node.id);
        if (own && node.instanceId !== own.info.instanceId) this.owned.check(node.id);
        return;
      }
      case 'delete': {
        const left = view.applyDelete(change.key, change.revision, change.reason, now);
        if (!left) return;
        this.sweeper?.forget(change.key);
        if (this.owned.has(change.key)) this.owned.noteDelete(change.key, left.reason);
        return;
      }
    }
  }

  /** The sweeper suspects `id`: read the server to see whether it is really gone. */
  private async confirmExpiry(id: string): Promise<ExpiryVerdict> {
    const { view } = this.context;
    const known = view.entry(id);
    if (!known || this.context.state === 'closed') return 'gone';
    let current: Awaited<ReturnType<DiscoveryBackend['get']>>;
    try {
      current = await this.context.backend.get(id);
    } catch (error) {
      this.context.logger.debug(`could not confirm the expiry of "${id}"`, { id, error });
      return 'unknown';
    }
    if (view.entry(id) !== known) return 'changed';
    const now = Date.now();
    if (!current) {
      view.applyDelete(id, undefined, 'expired', now);
      if (this.owned.has(id)) this.owned.noteDelete(id, 'expired');
      return 'gone';
    }
    if (current.revision === known.revision) return 'alive';
    const node = decodeOrSkip(this.context, id, current.value, current.revision);
    if (node && view.applyPut(node, current.revision, now)) {
      this.sweeper?.seen(id, now);
      return 'changed';
    }
    return 'alive';
  }
}
