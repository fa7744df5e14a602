import {
  type BackendChange,
  type BackendWatch,
  type DiscoveryBackend,
  InvalidNodeError,
  type PutOptions,
  type PutResult,
} from '@roster/core';
import type { ConformanceFaults } from '@roster/core/conformance';
import { DelegatingBackend } from '@roster/core/spi';
import { createMemoryStore, type MemoryStore, memoryBackend } from '../../src/index.js';

/**
 * The conformance suite's teeth: memory backends broken on purpose, each the way a real backend
 * goes wrong. `gallery.test.ts` runs the suite against every one and checks that it fails, and
 * fails in the case meant to catch it.
 */
export interface Mutant {
  /** What is broken. */
  readonly description: string;
  /** The conformance case that must catch it (its full title). */
  readonly caughtBy: string;
  readonly createBackend: (store: MemoryStore, namespace: string) => DiscoveryBackend;
  /**
   * The fault hooks of its run, when the mutant breaks what a fault does (a failover that loses
   * writes): given the gallery's own (`galleryStore().faults`), returns the ones to use.
   */
  readonly faults?: (store: MemoryStore, healthy: ConformanceFaults) => ConformanceFaults;
}

/**
 * Delegates everything (core's `DelegatingBackend`, the one full delegation of the SPI); a mutant
 * overrides the one thing it breaks.
 */
export class Wrapped extends DelegatingBackend {}

/** A mutant that only rewrites the change feed. */
export function feedMutant(
  rewrite: (deliver: (change: BackendChange) => void) => (change: BackendChange) => void,
): (store: MemoryStore, namespace: string) => DiscoveryBackend {
  return (store, namespace) =>
    new (class extends Wrapped {
      override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
        return this.inner.watch(cursor, rewrite(onChange));
      }
    })(memoryBackend({ store, namespace }));
}

const title = {
  unregister: 'unregister: every watcher gets left unregistered',
  expiry: 'expiry: an owner that closes without unregistering expires within the bound',
  ordering: 'watch: per node, events arrive in order, without duplicates, nothing after left',
  restart: 'faults: after a server restart views converge, missed changes are emitted, owned nodes survive',
  namespaces: 'namespaces: two namespaces on one server never see each other',
  backendValidation: 'validation: the backend itself refuses invalid keys and oversized values',
  alive: 'expiry: a node that keeps heartbeating never expires (3 × ttl)',
  cas: 'backend: put and delete are compare-and-set when asked',
  feed: 'backend: the feed delivers every change after the cursor, in order, with growing revisions',
  snapshot: 'watch: includeExisting yields joined for every current node first',
};

export const MUTANTS: Record<string, Mutant> = {
  'drops-deletes': {
    description: 'the change feed never reports a delete',
    caughtBy: title.unregister,
    createBackend: feedMutant((deliver) => (change) => {
      if (change.type !== 'delete') deliver(change);
    }),
  },
  'never-expires': {
    description: 'a TTL that runs out never reaches the feed: silent nodes stay members forever',
    caughtBy: title.expiry,
    createBackend: feedMutant((deliver) => (change) => {
      if (!(change.type === 'delete' && change.reason === 'expired')) deliver(change);
    }),
  },
  duplicates: {
    description:
      'each change is delivered again after the next one, under a new revision (at-least-once replay)',
    caughtBy: title.ordering,
    createBackend: feedMutant((deliver) => {
      let previous: BackendChange | undefined;
      return (change) => {
        deliver(change);
        if (previous && previous.type !== 'resync' && change.type !== 'resync')
          deliver({ ...previous, revision: change.revision + 0.5 });
        previous = change;
      };
    }),
  },
  reorders: {
    description: 'consecutive changes are delivered swapped',
    caughtBy: title.ordering,
    createBackend: feedMutant((deliver) => {
      let held: BackendChange | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      return (change) => {
        if (!held) {
          held = change;
          timer = setTimeout(() => {
            if (held) deliver(held);
            held = undefined;
          }, 20);
          return;
        }
        clearTimeout(timer);
        deliver(change);
        deliver(held);
        held = undefined;
      };
    }),
  },
  'no-resync': {
    description:
      'after a reconnect the feed resumes from "now" without signalling resync: missed changes are lost',
    caughtBy: title.restart,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          let current: BackendWatch | undefined;
          let stopped = false;
          const open = (from: string) => {
            current = this.inner.watch(from, (change) => {
              if (change.type !== 'resync') return onChange(change);
              void (async () => {
                await current?.stop();
                for (;;) {
                  if (stopped) return;
                  try {
                    open((await this.inner.list()).cursor);
                    return;
                  } catch {
                    await new Promise((resolve) => setTimeout(resolve, 50));
                  }
                }
              })();
            });
          };
          open(cursor);
          return {
            stop: async () => {
              stopped = true;
              await current?.stop();
            },
          };
        }
      })(memoryBackend({ store, namespace })),
  },
  'ignores-namespace': {
    description: 'every namespace is stored in the same place',
    caughtBy: title.namespaces,
    createBackend: (store) => memoryBackend({ store, namespace: 'everything' }),
  },
  'accepts-invalid-ids': {
    description: 'put() of an invalid key or an oversized value resolves instead of rejecting',
    caughtBy: title.backendValidation,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          try {
            return await this.inner.put(key, value, options);
          } catch (error) {
            if (error instanceof InvalidNodeError) return { ok: true, revision: 0 };
            throw error;
          }
        }
      })(memoryBackend({ store, namespace })),
  },
  'expires-heartbeating-nodes': {
    description: 'a heartbeat does not restart the TTL: nodes expire ttl after registration, alive or not',
    caughtBy: title.alive,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          if (!options?.refreshOnly) return this.inner.put(key, value, options);
          const current = await this.inner.get(key);
          if (!current || current.revision !== options.expectedRevision) return { ok: false };
          return { ok: true, revision: current.revision };
        }
      })(memoryBackend({ store, namespace })),
  },
  'no-compare-and-set': {
    description: 'put() ignores expectedRevision: an old owner overwrites the newer registration',
    caughtBy: title.cas,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          return this.inner.put(key, value, { refreshOnly: options?.refreshOnly });
        }
      })(memoryBackend({ store, namespace })),
  },
  'empty-snapshot': {
    description: 'list() returns no entries: a new instance starts blind',
    caughtBy: title.snapshot,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list() {
          return { entries: [], cursor: (await this.inner.list()).cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
};

/** The memory store's failover: every connection drops for this long, nothing stored is lost (a raft failover). */
const FAILOVER_DOWNTIME = 300;
/** An isolated member: the clients on it lose their connection for this long, then reach another member. */
const ISOLATE_DOWNTIME = 200;

/**
 * The memory store and fault handles every gallery run uses (restart downtime beyond the ttl).
 * The store is one process, so a cluster's faults are simulated with what it has: a failover is a
 * short outage of every connection with the data kept; an isolated member is the same short
 * outage (its clients move to another member) while the store keeps serving for `ms`.
 */
export function galleryStore(): { store: MemoryStore; faults: ConformanceFaults } {
  const store = createMemoryStore();
  return {
    store,
    faults: {
      restart: () => store.faults.restart(1_500),
      pause: (ms: number) => store.faults.pause(ms),
      failover: () => store.faults.restart(FAILOVER_DOWNTIME),
      isolate: async (ms: number) => {
        await store.faults.restart(ISOLATE_DOWNTIME);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - ISOLATE_DOWNTIME)));
      },
      // Well past the simulated outages, and short: the gallery runs every case.
      failoverTtl: 3_000,
    },
  };
}
