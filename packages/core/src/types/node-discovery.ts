import type { NodeChangeEvent } from './node-change-event.js';
import type { NodeFilter } from './node-filter.js';
import type { NodeInfo } from './node-info.js';
import type { NodeRegistration } from './node-registration.js';
import type { RegisterManyOptions } from './register-many-options.js';
import type { WatchOptions } from './watch-options.js';

/**
 * A running discovery instance: it owns the nodes it registered, keeps them alive, and keeps
 * a local view of every node in the namespace.
 *
 * @example
 * ```ts
 * await using discovery = await createDiscovery({ backend: memoryBackend() });
 * await discovery.register({ id: 'api-1', address: '10.0.0.5:8080' });
 * for await (const event of discovery.watch()) console.log(event.type, event.node.id);
 * ```
 */
export interface NodeDiscovery extends AsyncDisposable {
  /** The backend's name: `memory`, `nats`, `redis`, `etcd` … */
  readonly backendName: string;
  /** Stores the record; this instance now owns and heartbeats it. Registering an owned id is an update. */
  register(node: NodeRegistration): Promise<NodeInfo>;
  /**
   * Registers many nodes at once (a process that runs thousands of them). Every registration is
   * checked first: if any is invalid (or an id is listed twice) it rejects with
   * `InvalidNodeError` and nothing is written. Then they are registered like `register()`, at
   * most `options.concurrency` (default 32) at a time; the result is in the order given. If a
   * write fails, no further one starts and it rejects with that first error; nodes already
   * registered stay registered and owned (calling it again is safe: an owned id is updated).
   *
   * @example
   * ```ts
   * const nodes = await discovery.registerMany(
   *   shards.map((shard) => ({ id: `shard-${shard}`, metadata: { role: 'shard' } })),
   *   { concurrency: 64 },
   * );
   * ```
   */
  registerMany(
    registrations: readonly NodeRegistration[],
    options?: RegisterManyOptions,
  ): Promise<NodeInfo[]>;
  /** Refreshes an owned node (optionally with a new load). Rejects `NodeNotRegisteredError` for ids it does not own. */
  heartbeat(id: string, load?: number): Promise<void>;
  /** Removes any node; an owned one stops heartbeating. */
  unregister(id: string): Promise<void>;
  /** The local view of one node, no I/O. */
  get(id: string): NodeInfo | undefined;
  /** The local view, sorted by id, no I/O. */
  list(filter?: NodeFilter): NodeInfo[];
  /** Membership changes: by default a `joined` for every current node first, then live changes. */
  watch(options?: WatchOptions): AsyncIterable<NodeChangeEvent>;
  /** The current state first, then earlier ones. `UnsupportedCapabilityError` when the backend keeps none. */
  history(id: string, limit?: number): Promise<NodeInfo[]>;
  /** Stops heartbeats, unregisters owned nodes (unless `{ unregister: false }`), ends watches. Idempotent. */
  close(options?: { unregister?: boolean }): Promise<void>;
}
