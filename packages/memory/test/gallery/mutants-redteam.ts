import {
  BackendUnavailableError,
  decodeRecord,
  InvalidNodeError,
  type NamespaceInspection,
} from '@roster/core';
import {
  assertValidKey,
  type BackendChange,
  type BackendEntry,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  type DiscoveryBackend,
  MAX_RECORD_BYTES,
  type PutOptions,
  type PutResult,
  type WriteCondition,
} from '@roster/core/spi';
import { type MemoryStore, memoryBackend } from '../../src/index.js';
import { feedMutant, type Mutant, Wrapped } from './mutants.js';

/**
 * The red team's memory backends: each broken the way a careless or clever implementer could
 * really ship it, none a repeat of the gallery's other files. Each must fail the case named in
 * `caughtBy` (titles as vitest reports them).
 */
const title = {
  continuity: 'backend: cursor continuity: a watch from any snapshot neither replays nor skips a change',
  feed: 'backend: the feed delivers every change after the cursor, in order, with growing revisions',
  burst: 'backend: a burst of 600 writes reaches the feed complete, in order, each change once',
  aba: 'backend: compare-and-set after a delete and a re-create: the revision from before the delete is a conflict (no ABA)',
  casNever: 'backend: compare-and-set with a revision the key never had is a conflict and writes nothing',
  renewRefresh: 'backend: every kind of write restarts the ttl: a refreshOnly put',
  bound1100: 'backend: a key lives its ttl and is gone within ttl + max(1 s, ttl/4) (ttl 1100 ms)',
  lookalike:
    'backend: namespaces that look alike (N, Nx, N-1, N_1) see only their own keys, in list() and the feed',
  backendValidation: 'validation: the backend itself refuses invalid keys and oversized values',
  frozenRaw: 'backend: calls to a frozen server reject BackendUnavailableError within the request timeout',
  largest: 'backend: the largest record and every allowed id character round-trip byte for byte',
  history: 'backend: history(key, limit) returns at most limit values, newest first, current first',
  age: 'backend: list() entries that carry an age give the ms since the key was last written',
};

/** A wrapper that knows the namespace's ttl (from `open`). */
class TtlAware extends Wrapped {
  protected ttl = 0;
  override open(context: BackendOpenContext) {
    this.ttl = context.ttl;
    return this.inner.open(context);
  }
}

/** Per store: `namespace/key` → the revision the key had when it was deleted (`cas-aba`). */
const tombstones = new WeakMap<MemoryStore, Map<string, number>>();
/** Per store: `namespace/key` → the revision of the key's last put (`delete-reuses-revision`). */
const lastPuts = new WeakMap<MemoryStore, Map<string, number>>();
function perStore<T>(maps: WeakMap<MemoryStore, Map<string, T>>, store: MemoryStore): Map<string, T> {
  let map = maps.get(store);
  if (!map) {
    map = new Map();
    maps.set(store, map);
  }
  return map;
}

/** The loose key check of `accepts-wildcard-ids`: length, blanks, slashes and dots only. */
function looseKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > 128) return 'length';
  if (/[\s/]/.test(key)) return 'blank or slash';
  if (key.startsWith('.') || key.endsWith('.') || key.includes('..')) return 'dots';
  return undefined;
}

/** A regular expression for a glob (`*` any run, `?` one character), as a Redis KEYS pattern. */
function globRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export const REDTEAM_MUTANTS: Record<string, Mutant> = {
  'list-cursor-before-entries': {
    description:
      'list() is not atomic: it reads the cursor, then the entries a moment later, so a watch replays what the snapshot already holds',
    caughtBy: title.continuity,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const { cursor } = await this.inner.list();
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { entries: (await this.inner.list()).entries, cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'feed-drops-in-burst': {
    description:
      'the feed has a buffer of 64 changes per tick and silently drops the rest of a burst (no resync)',
    caughtBy: title.burst,
    createBackend: feedMutant((deliver) => {
      let inTick = 0;
      return (change) => {
        if (inTick === 0) setTimeout(() => (inTick = 0), 0);
        inTick += 1;
        if (inTick <= 64 || change.type === 'resync') deliver(change);
      };
    }),
  },
  'feed-stops-after-200': {
    description:
      'the subscription has a maximum of 200 messages (an auto-unsubscribe): after 200 changes the feed goes silent, without resync',
    caughtBy: title.burst,
    createBackend: feedMutant((deliver) => {
      let delivered = 0;
      return (change) => {
        if (delivered++ < 200) deliver(change);
      };
    }),
  },
  'duplicates-on-key-switch': {
    description:
      'a put is delivered twice, under the same revision, when the change before it was to another key',
    caughtBy: title.feed,
    createBackend: feedMutant((deliver) => {
      let lastKey: string | undefined;
      return (change) => {
        deliver(change);
        if (change.type === 'put' && lastKey !== undefined && lastKey !== change.key) deliver(change);
        lastKey = change.type === 'resync' ? undefined : change.key;
      };
    }),
  },
  'cas-aba': {
    description:
      'compare-and-set keeps a tombstone per key: a revision the key had before it was deleted matches again once the key is re-created (ABA)',
    caughtBy: title.aba,
    createBackend: (store, namespace) => {
      const dead = perStore(tombstones, store);
      const at = (key: string) => `${namespace}/${key}`;
      return new (class extends Wrapped {
        override async delete(key: string, condition?: WriteCondition) {
          const current = await this.inner.get(key);
          const done = await this.inner.delete(key, condition);
          if (done && current) dead.set(at(key), current.revision);
          return done;
        }
        override async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
          if (
            typeof options.expectedRevision === 'number' &&
            dead.get(at(key)) === options.expectedRevision
          ) {
            const current = await this.inner.get(key);
            if (current)
              return this.inner.put(key, value, { ...options, expectedRevision: current.revision });
          }
          return this.inner.put(key, value, options);
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'delete-reuses-revision': {
    description:
      'a delete in the feed carries the revision of the record it removed (its last write), not a new one',
    caughtBy: title.continuity,
    createBackend: (store, namespace) => {
      const puts = perStore(lastPuts, store);
      const at = (key: string) => `${namespace}/${key}`;
      return new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, options);
          if (result.ok) puts.set(at(key), result.revision);
          return result;
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(cursor, (change) => {
            if (change.type === 'put') puts.set(at(change.key), change.revision);
            if (change.type === 'delete' && puts.has(at(change.key)))
              return onChange({ ...change, revision: puts.get(at(change.key))! });
            onChange(change);
          });
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'refresh-renews-half-ttl': {
    description:
      'a refreshOnly put sets the key to live ttl / 2 (a lease renewed in the wrong unit): heartbeats every ttl/3 keep it, the last one leaves early',
    caughtBy: title.renewRefresh,
    createBackend: (store, namespace) =>
      new (class extends TtlAware {
        private readonly timers = new Set<ReturnType<typeof setTimeout>>();
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, options);
          if (result.ok && options?.refreshOnly) {
            const timer = setTimeout(() => {
              this.timers.delete(timer);
              void this.inner.delete(key, { expectedRevision: result.revision }).catch(() => {});
            }, this.ttl / 2);
            this.timers.add(timer);
          }
          return result;
        }
        override close() {
          for (const timer of this.timers) clearTimeout(timer);
          return this.inner.close();
        }
      })(memoryBackend({ store, namespace })),
  },
  'refresh-ignores-condition': {
    description:
      'a refreshOnly put renews the key whatever its revision (a lease keep-alive): the condition is not checked',
    caughtBy: title.casNever,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
          if (options.refreshOnly && (await this.inner.get(key)))
            return this.inner.put(key, value, { refreshOnly: true });
          return this.inner.put(key, value, options);
        }
      })(memoryBackend({ store, namespace })),
  },
  'expiry-as-unregistered': {
    description: 'a key whose ttl ran out is reported as a delete with reason unregistered',
    caughtBy: title.bound1100,
    createBackend: feedMutant((deliver) => (change) => {
      deliver(
        change.type === 'delete' && change.reason === 'expired'
          ? { ...change, reason: 'unregistered' }
          : change,
      );
    }),
  },
  'get-caches-own-writes': {
    description:
      'get() answers from a cache of this backend’s own writes: an expiry or another backend’s delete is not seen',
    caughtBy: title.bound1100,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private readonly cache = new Map<string, BackendEntry>();
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, options);
          if (result.ok) this.cache.set(key, { key, value: value.slice(), revision: result.revision });
          return result;
        }
        override async delete(key: string, condition?: WriteCondition) {
          const done = await this.inner.delete(key, condition);
          if (done) this.cache.delete(key);
          return done;
        }
        override async get(key: string) {
          return this.cache.get(key) ?? this.inner.get(key);
        }
      })(memoryBackend({ store, namespace })),
  },
  'dotted-keys-shared': {
    description:
      'keys with a dot are stored outside the namespace, in one place every namespace shares (a subject-token slip)',
    caughtBy: title.lookalike,
    createBackend: (store, namespace) => {
      let dotted: DiscoveryBackend | undefined;
      const routed = (key: string) => key.includes('.');
      return new (class extends Wrapped {
        override async open(context: BackendOpenContext) {
          await this.inner.open(context);
          // One shared place per ttl (a namespace has one ttl).
          dotted = memoryBackend({ store, namespace: `dotted${Math.round(context.ttl)}` });
          await dotted.open(context);
        }
        private pick(key: string): DiscoveryBackend {
          return routed(key) && dotted ? dotted : this.inner;
        }
        override put(key: string, value: Uint8Array, options?: PutOptions) {
          return this.pick(key).put(key, value, options);
        }
        override delete(key: string, condition?: WriteCondition) {
          return this.pick(key).delete(key, condition);
        }
        override get(key: string) {
          return this.pick(key).get(key);
        }
        override history(key: string, limit: number) {
          return this.pick(key).history!(key, limit);
        }
        override async list(): Promise<BackendSnapshot> {
          const own = await this.inner.list();
          if (!dotted) return own;
          const shared = await dotted.list();
          return {
            entries: [...own.entries.filter((e) => !routed(e.key)), ...shared.entries],
            cursor: `${own.cursor}:${shared.cursor}`,
          };
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          const both = /^(\d+):(\d+)$/.exec(cursor);
          if (!both || !dotted) return this.inner.watch(cursor, onChange);
          const watches = [
            this.inner.watch(both[1]!, (c) => {
              if (c.type === 'resync' || !routed(c.key)) onChange(c);
            }),
            dotted.watch(both[2]!, onChange),
          ];
          return { stop: async () => void (await Promise.all(watches.map((w) => w.stop()))) };
        }
        override async close() {
          await dotted?.close();
          await this.inner.close();
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'accepts-wildcard-ids': {
    description:
      'its own key check only refuses blanks, slashes, bad dots and lengths: ids with *, >, : or é are accepted (kept beside the store)',
    caughtBy: title.backendValidation,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private readonly aside = new Map<string, BackendEntry>();
        private revision = 0;
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          if (looseKeyProblem(key) === undefined) {
            try {
              assertValidKey(key);
            } catch {
              this.revision += 1;
              this.aside.set(key, { key, value: value.slice(), revision: this.revision });
              return { ok: true, revision: this.revision };
            }
          }
          return this.inner.put(key, value, options);
        }
        override async get(key: string) {
          return this.aside.get(key) ?? this.inner.get(key);
        }
      })(memoryBackend({ store, namespace })),
  },
  'delete-takes-patterns': {
    description:
      'delete() does not check its key and treats * and ? as a pattern: delete("*") empties the namespace',
    caughtBy: title.backendValidation,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async delete(key: string, condition?: WriteCondition) {
          if (!/[*?]/.test(key)) return this.inner.delete(key, condition);
          const pattern = globRegExp(key);
          let deleted = false;
          for (const entry of (await this.inner.list()).entries)
            if (pattern.test(entry.key) && (await this.inner.delete(entry.key))) deleted = true;
          return deleted;
        }
      })(memoryBackend({ store, namespace })),
  },
  'timeout-as-plain-error': {
    description:
      'a request to a frozen server rejects with a plain Error("request timed out"), not BackendUnavailableError',
    caughtBy: title.frozenRaw,
    createBackend: (store, namespace) => {
      const plain = <T>(call: Promise<T>): Promise<T> =>
        call.catch((error: unknown) => {
          if (BackendUnavailableError.isInstance(error)) throw new Error('request timed out');
          throw error;
        });
      return new (class extends Wrapped {
        override put(key: string, value: Uint8Array, options?: PutOptions) {
          return plain(this.inner.put(key, value, options));
        }
        override delete(key: string, condition?: WriteCondition) {
          return plain(this.inner.delete(key, condition));
        }
        override get(key: string) {
          return plain(this.inner.get(key));
        }
        override list() {
          return plain(this.inner.list());
        }
        override history(key: string, limit: number) {
          return plain(this.inner.history!(key, limit));
        }
        override inspect(): Promise<NamespaceInspection> {
          return plain(this.inner.inspect!());
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'oversize-written-then-rejected': {
    description:
      'an oversized value is written cut to the 16 KiB limit and only then rejected: the put fails, a partial record stays',
    caughtBy: title.backendValidation,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          if (value.byteLength <= MAX_RECORD_BYTES) return this.inner.put(key, value, options);
          await this.inner.put(key, value.slice(0, MAX_RECORD_BYTES), options);
          throw new InvalidNodeError(`the value of "${key}" is ${value.byteLength} bytes, over the limit`);
        }
      })(memoryBackend({ store, namespace })),
  },
  'list-omits-large-records': {
    description:
      'list() leaves out records over 8 KiB (a scan with a byte budget per page that drops the overflow)',
    caughtBy: title.largest,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const { entries, cursor } = await this.inner.list();
          return { entries: entries.filter((e) => e.value.byteLength <= 8_192), cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'history-without-current': {
    description:
      'history() returns the earlier values only (the previous values of each write), not the current one',
    caughtBy: title.history,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async history(key: string, limit: number) {
          return (await this.inner.history!(key, limit + 1)).slice(1);
        }
      })(memoryBackend({ store, namespace })),
  },
  'list-repeats-rewritten-keys': {
    description:
      'list() pages like SCAN: a key rewritten while it lists comes back twice, at its old revision and then its new one',
    caughtBy: title.continuity,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const first = await this.inner.list();
          await new Promise((resolve) => setTimeout(resolve, 5));
          const second = await this.inner.list();
          const now = new Map(second.entries.map((e) => [e.key, e.revision]));
          const old = first.entries.filter((e) => now.has(e.key) && now.get(e.key) !== e.revision);
          return { entries: [...old, ...second.entries], cursor: second.cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'history-by-prefix': {
    description:
      'history(key) reads a key range by prefix: the values of api-10 and api-1.x come along with those of api-1',
    caughtBy: title.history,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async history(key: string, limit: number) {
          const own = await this.inner.history!(key, limit);
          const others: Uint8Array[] = [];
          for (const entry of (await this.inner.list()).entries)
            if (entry.key !== key && entry.key.startsWith(key))
              others.push(...(await this.inner.history!(entry.key, limit)));
          return [...own, ...others].slice(0, limit);
        }
      })(memoryBackend({ store, namespace })),
  },
  'age-in-seconds': {
    description:
      'list() gives each entry an age in seconds, not ms (as Redis OBJECT IDLETIME answers): listed keys look fresh to core',
    caughtBy: title.age,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const { entries, cursor } = await this.inner.list();
          const now = Date.now();
          return {
            entries: entries.map((e) => {
              const decoded = decodeRecord(e.key, e.value);
              return decoded.ok ? { ...e, age: Math.floor((now - decoded.node.lastSeen) / 1_000) } : e;
            }),
            cursor,
          };
        }
      })(memoryBackend({ store, namespace })),
  },
};
