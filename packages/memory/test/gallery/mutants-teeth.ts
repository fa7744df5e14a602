import {
  type BackendCapabilities,
  type BackendChange,
  type BackendEntry,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  decodeRecord,
  type PutOptions,
  type PutResult,
  type WriteCondition,
} from '@roster/core';
import { type MemoryStore, memoryBackend } from '../../src/index.js';
import { type Mutant, Wrapped } from './mutants.js';

/**
 * Memory backends broken the way the cases added for issue 10 (ttls, clocks, own writes during a
 * resync, slow feeds, pauses, restarts, silent heartbeats) are meant to notice. Titles are the
 * suite's, as vitest reports them.
 */
const title = {
  ttls: 'ttl: at ttls of 1 100, 3 333⅓ and 3 500 ms (and the suite’s) a silent node expires within [ttl, ttl + max(1 s, ttl/4)]',
  clocks:
    'clocks: records whose lastSeen is a minute ahead or behind still expire within the bound at every watcher',
  ownWrites:
    'own writes and resync: writes made while a slow re-list is on its way are kept (no false left, no load regression)',
  deadOwnerPause:
    'faults: an owner dead during a pause is left expired at every watcher within the bound after the server resumes',
  frozen:
    'faults: register, heartbeat, unregister and close during a frozen server settle within the request timeout',
  restartRevisions:
    'faults: revisions keep growing across a server restart and a watcher sees every later change',
  heartbeat: 'heartbeat: a plain heartbeat emits no event but refreshes lastSeen',
};

/** A wrapper that knows the namespace's ttl (from `open`). */
class TtlAware extends Wrapped {
  protected ttl = 0;
  override open(context: BackendOpenContext) {
    this.ttl = context.ttl;
    return this.inner.open(context);
  }
}

function lastSeenOf(key: string, value: Uint8Array): number | undefined {
  const decoded = decodeRecord(key, value);
  return decoded.ok ? decoded.node.lastSeen : undefined;
}

/**
 * Per store (`revisions-restart-at-one`): the highest revision seen per namespace, and how far
 * revisions are set back since the last restart. The store's restart is wrapped once to count
 * from 1 again.
 */
const restartCounters = new WeakMap<
  MemoryStore,
  { highest: Map<string, number>; base: Map<string, number> }
>();
function restartCounter(store: MemoryStore) {
  let state = restartCounters.get(store);
  if (!state) {
    const counter = { highest: new Map<string, number>(), base: new Map<string, number>() };
    const restart = store.faults.restart.bind(store.faults);
    store.faults.restart = (downtime?: number) => {
      for (const [namespace, highest] of counter.highest) counter.base.set(namespace, highest);
      return restart(downtime);
    };
    restartCounters.set(store, counter);
    state = counter;
  }
  return state;
}

export const TEETH_MUTANTS: Record<string, Mutant> = {
  'ttl-whole-seconds-lease': {
    description:
      'the ttl is rounded up to whole seconds and checked every half second, as a naive etcd lease is: 1 100 ms lives 2.5 s',
    caughtBy: title.ttls,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override open(context: BackendOpenContext) {
          return this.inner.open({ ...context, ttl: Math.ceil(context.ttl / 1_000) * 1_000 + 500 });
        }
      })(memoryBackend({ store, namespace })),
  },
  'expires-by-lastseen': {
    description:
      'expiry is timed from the lastSeen the owner wrote, not by the store: a clock ahead delays it, one behind makes it immediate',
    caughtBy: title.clocks,
    createBackend: (store, namespace) =>
      new (class extends TtlAware {
        private readonly held = new Set<ReturnType<typeof setTimeout>>();
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          const lastSeen = new Map<string, number>();
          let stopped = false;
          const deliverLater = (change: BackendChange, at: number) => {
            const timer = setTimeout(() => {
              this.held.delete(timer);
              if (!stopped) onChange(change);
            }, at - Date.now());
            this.held.add(timer);
          };
          const inner = this.inner.watch(cursor, (change) => {
            if (change.type === 'put') {
              const seen = lastSeenOf(change.key, change.value);
              if (seen !== undefined) lastSeen.set(change.key, seen);
              onChange(change);
              // "Already past its ttl" by the owner's clock: reported expired at once.
              if (seen !== undefined && seen + this.ttl < Date.now())
                onChange({
                  type: 'delete',
                  key: change.key,
                  revision: change.revision + 0.5,
                  reason: 'expired',
                });
              return;
            }
            if (change.type === 'delete' && change.reason === 'expired') {
              const due = (lastSeen.get(change.key) ?? 0) + this.ttl;
              if (due > Date.now()) return deliverLater(change, due);
            }
            onChange(change);
          });
          return {
            stop: async () => {
              stopped = true;
              await inner.stop();
            },
          };
        }
        override close() {
          for (const timer of this.held) clearTimeout(timer);
          return this.inner.close();
        }
      })(memoryBackend({ store, namespace })),
  },
  'list-serves-first-snapshot': {
    description:
      'list() answers every call after the first with the entries it read the first time (a cache) and a current cursor',
    caughtBy: title.ownWrites,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private first: readonly BackendEntry[] | undefined;
        override async list(): Promise<BackendSnapshot> {
          const snapshot = await this.inner.list();
          this.first ??= snapshot.entries;
          return { entries: this.first, cursor: snapshot.cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'mirror-loses-late-expiries': {
    description:
      'get() answers from a local mirror of the feed, and the feed drops expiries reported late (after a server pause): a dead node stays forever',
    caughtBy: title.deadOwnerPause,
    createBackend: (store, namespace) =>
      new (class extends TtlAware {
        private readonly mirror = new Map<string, BackendEntry>();
        private readonly written = new Map<string, number>();
        private remember(key: string, value: Uint8Array, revision: number) {
          this.mirror.set(key, { key, value, revision });
          this.written.set(key, Date.now());
        }
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, options);
          if (result.ok) this.remember(key, value, result.revision);
          return result;
        }
        override async delete(key: string, condition?: WriteCondition) {
          const deleted = await this.inner.delete(key, condition);
          if (deleted) this.mirror.delete(key);
          return deleted;
        }
        override async get(key: string): Promise<BackendEntry | undefined> {
          return this.mirror.get(key) ?? this.inner.get(key);
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(cursor, (change) => {
            if (change.type === 'put') this.remember(change.key, change.value, change.revision);
            if (change.type === 'delete') {
              const due = (this.written.get(change.key) ?? Date.now()) + this.ttl;
              // "Stale" by the mirror's reckoning: dropped, and the mirror keeps the key.
              if (change.reason === 'expired' && Date.now() > due + 1_000) return;
              this.mirror.delete(change.key);
            }
            onChange(change);
          });
        }
      })(memoryBackend({ store, namespace })),
  },
  'no-request-timeout': {
    description: 'calls wait for a frozen server as long as it stays frozen (no request timeout)',
    caughtBy: title.frozen,
    createBackend: (store, namespace) => memoryBackend({ store, namespace, requestTimeout: 3_600_000 }),
  },
  'revisions-restart-at-one': {
    description:
      'after a server restart the revision counter starts again from 1 (a counter the server did not persist)',
    caughtBy: title.restartRevisions,
    createBackend: (store, namespace) => {
      const state = restartCounter(store);
      const out = (revision: number) => {
        state.highest.set(namespace, Math.max(state.highest.get(namespace) ?? 0, revision));
        return revision - (state.base.get(namespace) ?? 0);
      };
      const into = (revision: number) => revision + (state.base.get(namespace) ?? 0);
      const condition = <T extends WriteCondition>(c?: T): T | undefined =>
        typeof c?.expectedRevision === 'number' ? { ...c, expectedRevision: into(c.expectedRevision) } : c;
      return new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, condition(options));
          return result.ok ? { ok: true, revision: out(result.revision) } : result;
        }
        override delete(key: string, c?: WriteCondition) {
          return this.inner.delete(key, condition(c));
        }
        override async get(key: string): Promise<BackendEntry | undefined> {
          const entry = await this.inner.get(key);
          return entry && { ...entry, revision: out(entry.revision) };
        }
        override async list(): Promise<BackendSnapshot> {
          const snapshot = await this.inner.list();
          return {
            entries: snapshot.entries.map((e) => ({ ...e, revision: out(e.revision) })),
            cursor: String(out(Number(snapshot.cursor))),
          };
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(String(into(Number(cursor))), (change) =>
            onChange(change.type === 'resync' ? change : { ...change, revision: out(change.revision) }),
          );
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'silent-heartbeats-that-write': {
    description:
      'declares supports.silentHeartbeats, but a plain heartbeat still writes the record (new revision, a change in the feed)',
    caughtBy: title.heartbeat,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override get supports(): BackendCapabilities {
          return { ...this.inner.supports, silentHeartbeats: true };
        }
      })(memoryBackend({ store, namespace })),
  },
};
