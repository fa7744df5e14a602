import type {
  BackendCapabilities,
  BackendChange,
  BackendEntry,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
  PutOptions,
  PutResult,
  WriteCondition,
} from '../../src/spi/discovery-backend.js';
import type { NodeChangeEvent } from '../../src/types/node-change-event.js';
import type { NodeDiscovery } from '../../src/types/node-discovery.js';
import type { NodeInfo } from '../../src/types/node-info.js';

// A namespace no other test uses (the Map fixture shares stores by namespace): the test kit's.
export { freshNamespace } from '../../src/conformance/test-kit.js';

/** `inner` with some methods replaced (the Map fixture's methods are closures, so spreading works). */
export function wrapBackend(inner: DiscoveryBackend, overrides: Partial<DiscoveryBackend>): DiscoveryBackend {
  return { ...inner, ...overrides };
}

/** Delivers every change of the feed `delay` ms late (a slow feed, rule 3). */
export function slowFeed(inner: DiscoveryBackend, delay: number): DiscoveryBackend {
  return wrapBackend(inner, {
    watch(cursor, onChange) {
      let stopped = false;
      const watch = inner.watch(cursor, (change) => {
        setTimeout(() => {
          if (!stopped) onChange(change);
        }, delay);
      });
      return {
        async stop() {
          stopped = true;
          await watch.stop();
        },
      };
    },
  });
}

/** Short form of an event for assertions: `left:a:expired`, `updated:a`, `joined:b`. */
/** A node of instance `i1` registered and last seen at 1, with `extra` laid over. */
export function node(id: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { id, metadata: {}, load: 0, instanceId: 'i1', registeredAt: 1, lastSeen: 1, ...extra };
}

export function short(event: NodeChangeEvent): string {
  return `${event.type}:${event.node.id}${event.type === 'left' ? `:${event.reason}` : ''}`;
}

/** Collects every event of a watch (started at once) into an array. */
export function record(
  discovery: NodeDiscovery,
  options: { includeExisting?: boolean } = { includeExisting: false },
): NodeChangeEvent[] {
  const events: NodeChangeEvent[] = [];
  void (async () => {
    for await (const event of discovery.watch(options)) events.push(event);
  })();
  return events;
}

/** Lets queued microtasks and one macrotask turn run (the Map feed delivers through microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface StoredRecord {
  value: Uint8Array;
  revision: number;
  /** Local ms of the last write or renewal (the "server's clock" of this store). */
  writtenAt: number;
  deadline: ReturnType<typeof setTimeout>;
}

/** What a server holds for {@link storeBackend}: records, a change log and every value ever written. */
export class TestStore {
  readonly records = new Map<string, StoredRecord>();
  readonly log: Exclude<BackendChange, { type: 'resync' }>[] = [];
  readonly listeners = new Set<(change: BackendChange) => void>();
  readonly history = new Map<string, Uint8Array[]>();
  revision = 0;
  ttl = 0;
  gets = 0;

  publish(change: Exclude<BackendChange, { type: 'resync' }>): void {
    this.log.push(change);
    for (const listener of this.listeners) queueMicrotask(() => listener(change));
  }
}

/**
 * A backend on a {@link TestStore} with switchable capabilities: `silentHeartbeats` renews a key on
 * a `refreshOnly` put without storing it (no revision, no feed entry), as etcd's lease keep-alive
 * does; `nativeExpiryEvents: false` reports no expiry in the feed (as NATS before 2.11);
 * `history` keeps every write, plain heartbeats included.
 */
export function storeBackend(
  store: TestStore,
  capabilities: Partial<BackendCapabilities> = {},
  options: { listAges?: boolean } = {},
): DiscoveryBackend {
  const supports: BackendCapabilities = {
    persistent: true,
    history: capabilities.history ?? false,
    nativeExpiryEvents: capabilities.nativeExpiryEvents ?? true,
    silentHeartbeats: capabilities.silentHeartbeats ?? false,
  };
  const expire = (key: string) => {
    store.records.delete(key);
    const revision = ++store.revision;
    if (supports.nativeExpiryEvents) store.publish({ type: 'delete', key, revision, reason: 'expired' });
    else store.log.push({ type: 'delete', key, revision, reason: 'expired' });
  };
  const backend: DiscoveryBackend & { history(key: string, limit: number): Promise<Uint8Array[]> } = {
    name: 'test-store',
    supports,
    async open(context) {
      store.ttl = context.ttl;
    },
    async put(key: string, value: Uint8Array, put: PutOptions = {}): Promise<PutResult> {
      const current = store.records.get(key);
      if (put.expectedRevision === null && current) return { ok: false };
      if (typeof put.expectedRevision === 'number' && current?.revision !== put.expectedRevision)
        return { ok: false };
      if (current) clearTimeout(current.deadline);
      const deadline = setTimeout(() => expire(key), store.ttl);
      if (current && put.refreshOnly && supports.silentHeartbeats) {
        current.deadline = deadline;
        current.writtenAt = Date.now();
        return { ok: true, revision: current.revision };
      }
      const revision = ++store.revision;
      store.records.set(key, { value, revision, deadline, writtenAt: Date.now() });
      const states = store.history.get(key) ?? [];
      states.unshift(value);
      store.history.set(key, states);
      store.publish({ type: 'put', key, value, revision });
      return { ok: true, revision };
    },
    async delete(key: string, condition: WriteCondition = {}): Promise<boolean> {
      const current = store.records.get(key);
      if (!current) return false;
      if (typeof condition.expectedRevision === 'number' && current.revision !== condition.expectedRevision)
        return false;
      clearTimeout(current.deadline);
      store.records.delete(key);
      store.publish({ type: 'delete', key, revision: ++store.revision, reason: 'unregistered' });
      return true;
    },
    async get(key: string): Promise<BackendEntry | undefined> {
      store.gets += 1;
      const record = store.records.get(key);
      return record && { key, value: record.value, revision: record.revision };
    },
    async list(): Promise<BackendSnapshot> {
      const now = Date.now();
      const entries = [...store.records].map(([key, r]) => ({
        key,
        value: r.value,
        revision: r.revision,
        ...(options.listAges ? { age: now - r.writtenAt } : {}),
      }));
      return { entries, cursor: String(store.revision) };
    },
    watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
      let stopped = false;
      const deliver = (change: BackendChange) => {
        if (!stopped) onChange(change);
      };
      for (const change of store.log) {
        if (change.revision <= Number(cursor)) continue;
        if (change.type === 'delete' && change.reason === 'expired' && !supports.nativeExpiryEvents) continue;
        queueMicrotask(() => deliver(change));
      }
      store.listeners.add(deliver);
      return {
        async stop() {
          stopped = true;
          store.listeners.delete(deliver);
        },
      };
    },
    async history(key: string, limit: number): Promise<Uint8Array[]> {
      return (store.history.get(key) ?? []).slice(0, limit);
    },
    async close() {},
  };
  if (!supports.history) delete (backend as Partial<typeof backend>).history;
  return backend;
}
