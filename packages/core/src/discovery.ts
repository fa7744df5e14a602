// `createDiscovery` and the instance it returns: checks the state and the input of each public
// call, then hands it to the owned-node bookkeeping (owned-nodes.ts), the local view
// (local-view.ts) or the feed (namespace-feed.ts); and opens and closes all of them in order.

import { deleteIfOurs } from './compare-and-set-delete.js';
import { type DiscoveryContext, type DiscoveryState, decodeOrSkip } from './discovery-context.js';
import { DiscoveryClosedError, InvalidOptionsError, UnsupportedCapabilityError } from './errors.js';
import { readHistory } from './history-reader.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';
import { LocalView } from './local-view.js';
import { type DiscoveryMetrics, discoveryMetrics } from './metrics/discovery-metrics.js';
import { measuredBackend } from './metrics/measured-backend.js';
import type { MeterLike } from './metrics/otel-types.js';
import { resolveMeter } from './metrics/resolve-meter.js';
import { NamespaceFeed } from './namespace-feed.js';
import { matchesFilter } from './node-filter-match.js';
import { OwnedNodes } from './owned-nodes.js';
import { assertValidBatch, concurrencyOf, mapBounded } from './register-many.js';
import { type ResolvedOptions, resolveOptions } from './resolve-options.js';
import { settleWithin } from './settle-within.js';
import type { DiscoveryBackend } from './spi/discovery-backend.js';
import type { DiscoveryOptions } from './types/discovery-options.js';
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
  const resolved = resolveOptions(options);
  const discovery = new Discovery(resolved, await resolveMeter(options));
  await discovery.start();
  return discovery;
}

/**
 * How long `close()` waits for in-flight operations, unregistering and stopping the feed, all
 * together: twice the shipped backends' request timeout (5 s). A backend should time out its own
 * calls (rule 14); this bound only makes sure that one that never answers cannot hang `close()`.
 */
const CLOSE_SETTLE_MS = 10_000;
/** How long `close()` (and a failed open) waits for `backend.close()`: one request timeout. */
const BACKEND_CLOSE_MS = 5_000;

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
  private readonly hub = new WatchHub();
  private readonly view: LocalView;
  private readonly perId = new KeyedSerialQueue();
  private readonly shutdown = new AbortController();
  private readonly owned: OwnedNodes;
  private readonly feed: NamespaceFeed;
  private readonly context: DiscoveryContext;
  private readonly metrics: DiscoveryMetrics;
  private state: DiscoveryState = 'opening';
  private closing: Promise<void> | undefined;

  constructor(options: ResolvedOptions, meter: MeterLike | undefined) {
    this.options = options;
    this.backendName = options.backend.name;
    this.metrics = discoveryMetrics(meter, this.backendName, options.backend.namespace);
    // Backend calls are timed by a wrapper (only when measured): backends know nothing of metrics.
    this.backend = measuredBackend(options.backend, this.metrics);
    this.logger = options.logger;
    this.view = new LocalView((event) => {
      this.metrics.event(event);
      this.hub.publish(event);
    }, options.ttl);
    const self = this;
    this.context = {
      backend: this.backend,
      backendName: this.backendName,
      options,
      logger: this.logger,
      view: this.view,
      perId: this.perId,
      shutdown: this.shutdown.signal,
      get sweeper() {
        return self.feed.sweeper;
      },
      get state() {
        return self.state;
      },
      metrics: this.metrics,
    };
    this.owned = new OwnedNodes(this.context);
    this.feed = new NamespaceFeed(this.context, this.owned);
  }

  async start(): Promise<void> {
    try {
      await this.backend.open({ ttl: this.options.ttl, logger: this.logger });
      await this.feed.start();
      this.state = 'open';
      this.metrics.observe({ viewSize: () => this.view.size, ownedSize: () => this.owned.ids().length });
    } catch (error) {
      this.state = 'closed';
      this.shutdown.abort();
      this.feed.stopSweeper();
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
    return this.owned.register(registration);
  }

  async registerMany(
    registrations: readonly NodeRegistration[],
    options?: RegisterManyOptions,
  ): Promise<NodeInfo[]> {
    this.assertOpen();
    const concurrency = concurrencyOf(options);
    assertValidBatch(registrations);
    return mapBounded(registrations, concurrency, (registration) => this.owned.register(registration));
  }

  async heartbeat(id: string, load?: number): Promise<void> {
    this.assertOpen();
    assertValidKey(id);
    if (load !== undefined) assertValidLoad(load, id);
    await this.owned.heartbeat(id, load);
  }

  async unregister(id: string): Promise<void> {
    this.assertOpen();
    assertValidKey(id);
    await this.owned.unregister(id);
  }

  get(id: string): NodeInfo | undefined {
    this.assertReadable();
    return this.view.entry(id)?.node;
  }

  list(filter?: NodeFilter): NodeInfo[] {
    this.assertReadable();
    // A copy: the sorted array is the view's, shared until it changes.
    const sorted = this.view.sortedNodes();
    if (!filter?.metadata) return sorted.slice();
    return sorted.filter((node) => matchesFilter(node, filter));
  }

  watch(options: WatchOptions = {}): AsyncIterable<NodeChangeEvent> {
    if (this.state !== 'open') return closedIterable();
    return this.hub.subscribe(options, () => this.view.sortedNodes());
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
    return readHistory(
      (count) => history(id, count),
      (value) => decodeOrSkip(this.context, id, value, -1),
      limit,
      this.owned.has(id) ? this.view.entry(id)?.node : undefined,
    );
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

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Every wait here is bounded (rule 14): in-flight operations, unregistering and stopping the
   * feed share `CLOSE_SETTLE_MS`, then `backend.close()` gets `BACKEND_CLOSE_MS`. So `close()`
   * resolves within 15 s even when the backend never answers, and leaves no timer of core's.
   */
  private async shutDown(unregister: boolean): Promise<void> {
    // Watchers end first: our own leave events are not news to this instance's iterators.
    this.hub.endAll();
    this.owned.stopHeartbeats();
    this.feed.stopSweeper();
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
    // The feed stops while owned nodes are unregistered: on a frozen server both wait at once.
    const stopping = this.feed.stop();
    // Each owned id is deleted as soon as its own operations under way have settled (not after
    // everyone's), then ids that a register still under way adopted get their turn.
    const handled = new Set<string>();
    const unregisterOwned = () =>
      Promise.all(
        this.owned
          .ids()
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
    this.metrics.close();
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
