import { DiscoveryClosedError, type NamespaceInspection } from '@roster/core';
import {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  type BackendFactoryOptions,
  BackendLifecycle,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  type DiscoveryBackend,
  numberOption,
  type PutOptions,
  type PutResult,
  revisionCursor,
  type WriteCondition,
} from '@roster/core/spi';
import type { MemoryNamespace } from './memory-namespace.js';
import { defaultMemoryStore, type MemoryStore, MemoryStoreImpl } from './memory-store.js';
import { inspectMemoryNamespace } from './namespace-inspect.js';

/** Options of {@link memoryBackend}. */
export interface MemoryBackendOptions extends BackendFactoryOptions {
  /** Backends on one store see each other. Default: one store shared by the whole process. */
  store?: MemoryStore;
  /**
   * Ms an operation waits for a paused store (`store.faults.pause`) before it rejects with
   * `BackendUnavailableError`, as a server backend's request timeout does. Default 5_000.
   */
  requestTimeout?: number;
}

const DEFAULT_REQUEST_TIMEOUT = 5_000;

/**
 * The in-process backend: the embedded default. Same validation, events and expiry as the
 * server backends, so what runs here runs on NATS, Redis or etcd. Records live as long as the
 * store (persistent within the process), TTLs are enforced by timers, history is kept.
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { memoryBackend } from '@roster/memory';
 *
 * const discovery = await createDiscovery({ backend: memoryBackend({ namespace: 'demo' }) });
 * ```
 */
export function memoryBackend(options: MemoryBackendOptions = {}): DiscoveryBackend {
  return new MemoryBackend(options);
}

class MemoryBackend implements DiscoveryBackend {
  readonly name = 'memory';
  readonly supports: BackendCapabilities = { persistent: true, history: true, nativeExpiryEvents: true };
  private readonly store: MemoryStoreImpl;
  /** The namespace's name: core reports it in metrics (`roster.namespace`). */
  readonly namespace: string;
  private opened: MemoryNamespace | undefined;
  private readonly watches = new Set<MemoryWatch>();
  private disconnect: (() => void) | undefined;
  private readonly lifecycle = new BackendLifecycle('memory');
  private readonly requestTimeout: number;

  constructor(options: MemoryBackendOptions) {
    const store = options.store ?? defaultMemoryStore;
    if (!(store instanceof MemoryStoreImpl)) throw new TypeError('store must come from createMemoryStore()');
    this.store = store;
    this.namespace = options.namespace ?? 'default';
    assertValidNamespace(this.namespace);
    this.requestTimeout = numberOption('requestTimeout', options.requestTimeout, {
      fallback: DEFAULT_REQUEST_TIMEOUT,
      above: 0,
      integer: false,
      unit: 'ms',
    });
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.lifecycle.beginOpen();
    await this.store.reachable(this.requestTimeout);
    this.lifecycle.assertOpening();
    this.opened = this.store.open(this.namespace, context.ttl);
    this.disconnect = this.store.connect({
      disconnected: () => {
        for (const watch of this.watches) watch.disconnected();
      },
      reconnected: () => {
        for (const watch of [...this.watches]) watch.reconnected();
      },
    });
    this.lifecycle.opened();
  }

  async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidValueSize(value, key);
    const namespace = await this.ready();
    const revision = namespace.put(
      key,
      value.slice(),
      options.expectedRevision,
      options.refreshOnly ?? false,
    );
    return revision === undefined ? { ok: false } : { ok: true, revision };
  }

  async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
    assertValidKey(key);
    const namespace = await this.ready();
    // expectedRevision null ("only if absent") never deletes anything.
    if (condition.expectedRevision === null) return false;
    return namespace.delete(key, condition.expectedRevision, 'unregistered');
  }

  async get(key: string): Promise<BackendEntry | undefined> {
    return (await this.ready()).get(key);
  }

  async list(): Promise<BackendSnapshot> {
    const namespace = await this.ready();
    return { entries: namespace.entries(), cursor: String(namespace.currentRevision) };
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    this.lifecycle.assertOpen();
    const namespace = this.opened as MemoryNamespace;
    const after = revisionCursor(this.name, cursor);
    const watch = new MemoryWatch(namespace, after, onChange, () => this.watches.delete(watch));
    this.watches.add(watch);
    return watch;
  }

  async history(key: string, limit: number): Promise<Uint8Array[]> {
    return (await this.ready()).historyOf(key, limit);
  }

  async inspect(): Promise<NamespaceInspection> {
    if (this.lifecycle.isClosed) throw new DiscoveryClosedError('the memory backend is closed');
    return inspectMemoryNamespace(this.store, this.namespace, this.requestTimeout);
  }

  async close(): Promise<void> {
    if (!this.lifecycle.beginClose()) return;
    for (const watch of [...this.watches]) await watch.stop();
    this.disconnect?.();
  }

  private async ready(): Promise<MemoryNamespace> {
    this.lifecycle.assertOpen();
    await this.store.reachable(this.requestTimeout);
    return this.opened as MemoryNamespace;
  }
}

/**
 * A change feed from a cursor: replays the namespace's log after it, then delivers live changes,
 * each in its own microtask so that a write never re-enters core while it is still running.
 * A simulated outage loses continuity: the feed says `resync` when the store is back.
 */
class MemoryWatch implements BackendWatch {
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private connected = true;

  constructor(
    namespace: MemoryNamespace,
    cursor: number,
    private readonly onChange: (change: BackendChange) => void,
    private readonly onStop: () => void,
  ) {
    const missed = namespace.changesAfter(cursor);
    if (!missed) {
      this.deliver({ type: 'resync', reason: `the change log no longer reaches revision ${cursor}` });
      return;
    }
    for (const change of missed) this.deliver(change);
    this.unsubscribe = namespace.subscribe((change) => {
      if (this.connected) this.deliver(change);
    });
  }

  disconnected(): void {
    this.connected = false;
  }

  reconnected(): void {
    if (this.stopped) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.deliver({ type: 'resync', reason: 'the connection to the memory store was lost' });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.onStop();
  }

  private deliver(change: BackendChange): void {
    queueMicrotask(() => {
      if (!this.stopped) this.onChange(change);
    });
  }
}
