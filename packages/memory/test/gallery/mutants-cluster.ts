import {
  type BackendChange,
  BackendUnavailableError,
  type DiscoveryBackend,
  type PutOptions,
  type PutResult,
  type WriteCondition,
} from '@roster/core';
import { type MemoryStore, memoryBackend } from '../../src/index.js';
import { feedMutant, type Mutant, Wrapped } from './mutants.js';

/**
 * Memory backends broken the way a clustered server, or a backend on one, loses data or its way
 * across a failover or an isolated member: what the cluster fault cases (issue 12) are meant to
 * notice. Each simulates its cluster with the gallery's store and its own fault hooks.
 */
const title = {
  failover:
    'cluster faults: across a failover owned nodes survive, views converge within ttl + 2 s, later changes reach every watcher, nothing is invented',
  isolate:
    'cluster faults: across one member frozen beyond the ttl owned nodes survive, views converge within ttl + 2 s, later changes reach every watcher, nothing is invented',
};

/** One namespace's opened backends, so that a fault hook can write into what the cases use. */
const opened = new Map<string, Set<DiscoveryBackend>>();

/** Writes `value` to `key` of `namespace` through any of its backends still open (a server-side write). */
async function writeBehindTheirBacks(namespace: string, key: string, value: Uint8Array): Promise<void> {
  for (const backend of opened.get(namespace) ?? []) {
    try {
      await backend.put(key, value);
      return;
    } catch {
      // closed meanwhile: try the next one
    }
  }
}

/** A wrapper that registers its inner backend in `opened` and forgets it on close. */
class Tracked extends Wrapped {
  constructor(
    inner: DiscoveryBackend,
    private readonly ns: string,
  ) {
    super(inner);
  }
  override async open(context: Parameters<DiscoveryBackend['open']>[0]) {
    await this.inner.open(context);
    const set = opened.get(this.ns) ?? new Set();
    opened.set(this.ns, set.add(this.inner));
  }
  override close() {
    opened.get(this.ns)?.delete(this.inner);
    return this.inner.close();
  }
}

/** Per namespace and key: the value before the last acknowledged write (what a lagging replica holds). */
const before = new Map<string, Map<string, Uint8Array>>();
/** Per namespace and key: the value of a record when it was deleted (what a replica that missed the delete holds). */
const deleted = new Map<string, Map<string, Uint8Array>>();

function remember(
  table: Map<string, Map<string, Uint8Array>>,
  namespace: string,
  key: string,
  value: Uint8Array,
) {
  table.set(namespace, (table.get(namespace) ?? new Map()).set(key, value));
}

/** Puts every remembered value of `table` back, then runs the healthy failover: the new leader serves stale data. */
function staleFailover(table: Map<string, Map<string, Uint8Array>>) {
  return (_store: MemoryStore, healthy: Parameters<NonNullable<Mutant['faults']>>[1]) => ({
    ...healthy,
    failover: async (context: { namespace: string }) => {
      for (const [key, value] of table.get(context.namespace) ?? []) {
        await writeBehindTheirBacks(context.namespace, key, value);
      }
      await healthy.failover!(context);
    },
  });
}

/** Isolated: the first backend opened on each namespace is the one whose connection sits on the frozen member. */
let frozenUntil = 0;
const firstOpened = new Map<string, DiscoveryBackend>();

export const CLUSTER_MUTANTS: Record<string, Mutant> = {
  'failover-replays-old-value': {
    description:
      'a failover elects a lagging replica: each record falls back to its value before the last acknowledged write',
    caughtBy: title.failover,
    createBackend: (store, namespace) =>
      new (class extends Tracked {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const previous = options?.refreshOnly ? undefined : await this.inner.get(key);
          const result = await this.inner.put(key, value, options);
          if (result.ok && previous) remember(before, namespace, key, previous.value);
          return result;
        }
      })(memoryBackend({ store, namespace }), namespace),
    faults: staleFailover(before),
  },
  'failover-resurrects-deletes': {
    description: 'a failover elects a replica that missed the last deletes: unregistered nodes come back',
    caughtBy: title.failover,
    createBackend: (store, namespace) =>
      new (class extends Tracked {
        override async delete(key: string, condition?: WriteCondition): Promise<boolean> {
          const current = await this.inner.get(key);
          const done = await this.inner.delete(key, condition);
          if (done && current) remember(deleted, namespace, key, current.value);
          return done;
        }
      })(memoryBackend({ store, namespace }), namespace),
    faults: staleFailover(deleted),
  },
  'feed-lost-on-failover': {
    description:
      'the change feed stays on the killed leader: after a failover no change reaches the watchers',
    caughtBy: title.failover,
    createBackend: feedMutant((deliver) => {
      let dead = false;
      return (change: BackendChange) => {
        if (change.type === 'resync') dead = true;
        if (!dead) deliver(change);
      };
    }),
  },
  'stuck-on-frozen-member': {
    description:
      'a client whose member is frozen waits for it instead of moving to another: its heartbeats fail until the member thaws',
    caughtBy: title.isolate,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        #stuck(): boolean {
          return firstOpened.get(namespace) === this && Date.now() < frozenUntil;
        }
        override async open(context: Parameters<DiscoveryBackend['open']>[0]) {
          await this.inner.open(context);
          if (!firstOpened.has(namespace)) firstOpened.set(namespace, this);
        }
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          if (this.#stuck()) {
            // A request to a frozen server times out (rule 14) and is not applied.
            await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, frozenUntil - Date.now())));
            throw new BackendUnavailableError('the member this client uses did not answer (frozen)');
          }
          return this.inner.put(key, value, options);
        }
      })(memoryBackend({ store, namespace })),
    faults: (_store, healthy) => ({
      ...healthy,
      isolate: async (ms, context) => {
        frozenUntil = Date.now() + ms;
        await healthy.isolate!(ms, context);
      },
    }),
  },
};
