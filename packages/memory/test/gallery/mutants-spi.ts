import {
  assertValidKey,
  assertValidValueSize,
  type BackendCapabilities,
  type BackendChange,
  type BackendOpenContext,
  type BackendSnapshot,
  type BackendWatch,
  type DiscoveryBackend,
  type PutOptions,
  type PutResult,
  type WriteCondition,
} from '@roster/core/spi';
import { type MemoryStore, memoryBackend } from '../../src/index.js';
import { feedMutant, type Mutant, Wrapped } from './mutants.js';

/**
 * Memory backends broken at the SPI level, each the way a real backend goes wrong and each
 * hidden from core's view (core orders, de-duplicates and confirms). Every one must fail the
 * `backend:` case named in `caughtBy`. The titles are the suite's, spelled out as the gallery
 * reads them from vitest's report.
 */
const title = {
  continuity: 'backend: cursor continuity: a watch from any snapshot neither replays nor skips a change',
  orderAcrossKeys: 'backend: the feed delivers changes across keys in the order the store applied them',
  identical: 'backend: identical bytes written twice are two changes with growing revisions',
  firstWatch: 'backend: the first watch after open starts at its cursor, not at now',
  stop: 'backend: watch stop() delivers nothing after it resolves, even a read in flight',
  close: 'backend: close() stops its feeds: nothing is delivered after it resolves',
  bound1100: 'backend: a key lives its ttl and is gone within ttl + max(1 s, ttl/4) (ttl 1100 ms)',
  bound3500: 'backend: a key lives its ttl and is gone within ttl + max(1 s, ttl/4) (ttl 3500 ms)',
  renewCas: 'backend: every kind of write restarts the ttl: a conditional put that changes the value',
  renewReplace: 'backend: every kind of write restarts the ttl: a replace (unconditional put)',
  renewRefresh: 'backend: every kind of write restarts the ttl: a refreshOnly put',
  createOnly: 'backend: a create-only put (expectedRevision null) starts a ttl: the key expires',
  silent: 'backend: silentHeartbeats: a refreshOnly put renews the ttl without a new revision or a change',
  notSilent: 'backend: without silentHeartbeats, a refreshOnly put is a change in the feed',
  configMismatch: 'backend: opening a namespace with another ttl rejects ConfigMismatchError',
  lookalike:
    'backend: namespaces that look alike (N, Nx, N-1, N_1) see only their own keys, in list() and the feed',
  deleteResults: 'backend: delete resolves false for an absent key and for a second delete',
  casNever: 'backend: compare-and-set with a revision the key never had is a conflict and writes nothing',
  oneKey: 'backend: a put or delete touches exactly one key (api-1, not api-10 or api-1.x)',
  largeNamespace: 'backend: list() returns every key of a namespace of 1 250 keys',
  largest: 'backend: the largest record and every allowed id character round-trip byte for byte',
  history: 'backend: history(key, limit) returns at most limit values, newest first, current first',
};

/** A mutant that changes only the ttl the namespace is opened with. */
function ttlMutant(scale: (ttl: number) => number) {
  return (store: MemoryStore, namespace: string): DiscoveryBackend =>
    new (class extends Wrapped {
      override open(context: BackendOpenContext) {
        return this.inner.open({ ...context, ttl: scale(context.ttl) });
      }
    })(memoryBackend({ store, namespace }));
}

/**
 * A mutant whose puts of one kind (`keeps(options)`) leave the key's deadline where the
 * previous write set it: a wrapper-side deadline deletes the key then, whatever the store's own
 * ttl says.
 */
function keepsTtlOn(keeps: (options: PutOptions) => boolean) {
  return (store: MemoryStore, namespace: string): DiscoveryBackend =>
    new (class extends Wrapped {
      private ttl = 0;
      private readonly deadlines = new Map<string, ReturnType<typeof setTimeout>>();
      override open(context: BackendOpenContext) {
        this.ttl = context.ttl;
        return this.inner.open(context);
      }
      override async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
        const existed = (await this.inner.get(key)) !== undefined;
        const result = await this.inner.put(key, value, options);
        if (result.ok && !(existed && keeps(options) && this.deadlines.has(key))) {
          clearTimeout(this.deadlines.get(key));
          const timer = setTimeout(() => {
            this.deadlines.delete(key);
            void this.inner.delete(key).catch(() => {});
          }, this.ttl);
          this.deadlines.set(key, timer);
        }
        return result;
      }
      override async close() {
        for (const timer of this.deadlines.values()) clearTimeout(timer);
        return this.inner.close();
      }
    })(memoryBackend({ store, namespace }));
}

/** Per store: namespace → the ttl it was first opened with (for `adopts-existing-ttl`). */
const firstTtls = new WeakMap<MemoryStore, Map<string, number>>();
/** Per store: the refreshOnly writes the feed hides (for `refresh-not-in-feed`). */
const hiddenRevisions = new WeakMap<MemoryStore, Set<string>>();
const mark = (namespace: string, key: string, value: Uint8Array) =>
  `${namespace}/${key}/${Buffer.from(value).toString('base64')}`;

export const SPI_MUTANTS: Record<string, Mutant> = {
  'replays-at-cursor': {
    description: 'watch(cursor) is inclusive: the change at the cursor itself is delivered again',
    caughtBy: title.continuity,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(String(Math.max(0, Number(cursor) - 1)), onChange);
        }
      })(memoryBackend({ store, namespace })),
  },
  'skips-after-cursor': {
    description: 'watch(cursor) starts one change late: the first change after a snapshot is lost',
    caughtBy: title.continuity,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(String(Number(cursor) + 1), onChange);
        }
      })(memoryBackend({ store, namespace })),
  },
  'orders-per-key-only': {
    description: 'the feed keeps each key in order but batches changes by key (20 ms windows sorted by key)',
    caughtBy: title.orderAcrossKeys,
    createBackend: feedMutant((deliver) => {
      let batch: BackendChange[] = [];
      let scheduled = false;
      const keyOf = (c: BackendChange) => (c.type === 'resync' ? '' : c.key);
      const flush = () => {
        scheduled = false;
        const out = batch.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
        batch = [];
        for (const change of out) deliver(change);
      };
      return (change) => {
        batch.push(change);
        if (!scheduled) setTimeout(flush, 20);
        scheduled = true;
      };
    }),
  },
  'dedupes-identical-puts': {
    description: 'a put of the bytes a key already holds is skipped and answered with the current revision',
    caughtBy: title.identical,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const current = await this.inner.get(key);
          if (
            current &&
            options?.expectedRevision === undefined &&
            Buffer.from(current.value).equals(Buffer.from(value))
          )
            return { ok: true, revision: current.revision };
          return this.inner.put(key, value, options);
        }
      })(memoryBackend({ store, namespace })),
  },
  'first-watch-from-now': {
    description: 'the first watch after open starts at "now": changes between list() and watch() are lost',
    caughtBy: title.firstWatch,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private first = true;
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          if (!this.first) return this.inner.watch(cursor, onChange);
          this.first = false;
          // The log replay arrives in microtasks; only what comes after this tick is "live".
          let live = false;
          setTimeout(() => {
            live = true;
          }, 0);
          return this.inner.watch(cursor, (change) => {
            if (live) onChange(change);
          });
        }
      })(memoryBackend({ store, namespace })),
  },
  'stop-resolves-early': {
    description: 'watch stop() resolves at once but unsubscribes 30 ms later: changes keep coming',
    caughtBy: title.stop,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          const inner = this.inner.watch(cursor, onChange);
          return {
            stop: async () => {
              setTimeout(() => void inner.stop(), 30);
            },
          };
        }
      })(memoryBackend({ store, namespace })),
  },
  'close-leaves-feeds': {
    description: 'feeds run on a second connection that close() forgets: watches outlive close()',
    caughtBy: title.close,
    createBackend: (store, namespace) => {
      const feeds = memoryBackend({ store, namespace });
      return new (class extends Wrapped {
        override async open(context: BackendOpenContext) {
          await this.inner.open(context);
          await feeds.open(context);
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return feeds.watch(cursor, onChange);
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'ttl-one-and-a-half': {
    description: 'keys live 1.5 × ttl (a unit or rounding slip): within the bound at 1 s, beyond it at 3.5 s',
    caughtBy: title.bound3500,
    createBackend: ttlMutant((ttl) => ttl * 1.5),
  },
  'ttl-double': {
    description: 'keys live 2 × ttl',
    caughtBy: title.bound1100,
    createBackend: ttlMutant((ttl) => ttl * 2),
  },
  'ttl-whole-seconds-down': {
    description: 'the ttl is rounded down to whole seconds: at 1 100 ms keys go 100 ms early',
    caughtBy: title.bound1100,
    createBackend: ttlMutant((ttl) => Math.max(1_000, Math.floor(ttl / 1_000) * 1_000)),
  },
  'replace-keeps-ttl': {
    description: 'an unconditional put of an existing key does not restart its ttl',
    caughtBy: title.renewReplace,
    createBackend: keepsTtlOn((o) => o.expectedRevision === undefined && !o.refreshOnly),
  },
  'cas-put-keeps-ttl': {
    description: 'a conditional put (expectedRevision) does not restart the ttl',
    caughtBy: title.renewCas,
    createBackend: keepsTtlOn((o) => typeof o.expectedRevision === 'number' && !o.refreshOnly),
  },
  'refresh-keeps-ttl': {
    description: 'a refreshOnly put stores the value but does not restart the ttl',
    caughtBy: title.renewRefresh,
    createBackend: keepsTtlOn((o) => o.refreshOnly === true),
  },
  'create-only-never-expires': {
    description: 'a create-only put (expectedRevision null) stores the key without a ttl',
    caughtBy: title.createOnly,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private ttl = 0;
        private readonly keepers = new Set<ReturnType<typeof setInterval>>();
        override open(context: BackendOpenContext) {
          this.ttl = context.ttl;
          return this.inner.open(context);
        }
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          const result = await this.inner.put(key, value, options);
          if (result.ok && options?.expectedRevision === null) {
            // No ttl: modelled as the store renewing the key until it is deleted.
            let revision = result.revision;
            const keeper = setInterval(async () => {
              const renewed = await this.inner
                .put(key, value, { expectedRevision: revision, refreshOnly: true })
                .catch(() => ({ ok: false as const }));
              if (renewed.ok) revision = renewed.revision;
              else {
                clearInterval(keeper);
                this.keepers.delete(keeper);
              }
            }, this.ttl / 2);
            this.keepers.add(keeper);
          }
          return result;
        }
        override close() {
          for (const keeper of this.keepers) clearInterval(keeper);
          return this.inner.close();
        }
      })(memoryBackend({ store, namespace })),
  },
  'claims-silent-heartbeats': {
    description:
      'declares supports.silentHeartbeats but every refreshOnly put is a full write with a new revision',
    caughtBy: title.silent,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override get supports(): BackendCapabilities {
          return { ...this.inner.supports, silentHeartbeats: true };
        }
      })(memoryBackend({ store, namespace })),
  },
  'refresh-not-in-feed': {
    description: 'refreshOnly puts are stored but left out of the feed, without declaring silentHeartbeats',
    caughtBy: title.notSilent,
    createBackend: (store, namespace) => {
      const hide = hiddenRevisions.get(store) ?? new Set<string>();
      hiddenRevisions.set(store, hide);
      return new (class extends Wrapped {
        override async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
          // Marked before the write: the store may publish before put() resolves.
          if (options?.refreshOnly) hide.add(mark(namespace, key, value));
          return this.inner.put(key, value, options);
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return this.inner.watch(cursor, (change) => {
            if (!(change.type === 'put' && hide.has(mark(namespace, change.key, change.value))))
              onChange(change);
          });
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'adopts-existing-ttl': {
    description: 'open() of a namespace created with another ttl silently uses the existing ttl',
    caughtBy: title.configMismatch,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override open(context: BackendOpenContext) {
          const ttls = firstTtls.get(store) ?? new Map<string, number>();
          firstTtls.set(store, ttls);
          if (!ttls.has(namespace)) ttls.set(namespace, context.ttl);
          return this.inner.open({ ...context, ttl: ttls.get(namespace)! });
        }
      })(memoryBackend({ store, namespace })),
  },
  'prefix-namespaces': {
    description:
      'namespaces share one keyspace as "<namespace>.<key>" and list/watch match the namespace as a bare prefix',
    caughtBy: title.lookalike,
    createBackend: (store, namespace) => {
      const prefix = `${namespace}.`;
      const own = (key: string) => key.startsWith(namespace);
      const strip = (key: string) => key.slice(prefix.length);
      let inner: DiscoveryBackend | undefined;
      return new (class extends Wrapped {
        override async open(context: BackendOpenContext) {
          // One shared namespace per ttl, as one Redis database holds every namespace.
          inner = memoryBackend({ store, namespace: `shared${Math.round(context.ttl)}` });
          await inner.open(context);
        }
        override put(key: string, value: Uint8Array, options?: PutOptions) {
          assertValidKey(key);
          return inner!.put(prefix + key, value, options);
        }
        override delete(key: string, condition?: WriteCondition) {
          assertValidKey(key);
          return inner!.delete(prefix + key, condition);
        }
        override async get(key: string) {
          const entry = await inner!.get(prefix + key);
          return entry && { ...entry, key };
        }
        override async list(): Promise<BackendSnapshot> {
          const { entries, cursor } = await inner!.list();
          return {
            entries: entries.filter((e) => own(e.key)).map((e) => ({ ...e, key: strip(e.key) })),
            cursor,
          };
        }
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          return inner!.watch(cursor, (change) => {
            if (change.type === 'resync') onChange(change);
            else if (own(change.key)) onChange({ ...change, key: strip(change.key) });
          });
        }
        override history(key: string, limit: number) {
          return inner!.history!(prefix + key, limit);
        }
        override close() {
          return inner ? inner.close() : Promise.resolve();
        }
      })(memoryBackend({ store, namespace }));
    },
  },
  'mangles-non-ascii': {
    description:
      'values are stored as latin1 text and read back as UTF-8: every byte above 0x7f is re-encoded',
    caughtBy: title.largest,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override put(key: string, value: Uint8Array, options?: PutOptions) {
          assertValidValueSize(value, key);
          const text = Buffer.from(value).toString('latin1');
          return this.inner.put(key, new Uint8Array(Buffer.from(text, 'utf8')), options);
        }
      })(memoryBackend({ store, namespace })),
  },
  'cuts-long-keys-in-list': {
    description: 'list() returns keys cut to 100 characters (a fixed-width column)',
    caughtBy: title.largest,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const { entries, cursor } = await this.inner.list();
          return { entries: entries.map((e) => ({ ...e, key: e.key.slice(0, 100) })), cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'delete-always-true': {
    description: 'delete() resolves true whether or not it deleted anything',
    caughtBy: title.deleteResults,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async delete(key: string, condition?: WriteCondition) {
          await this.inner.delete(key, condition);
          return true;
        }
      })(memoryBackend({ store, namespace })),
  },
  'list-first-page': {
    description: 'list() returns only the first page of 1 000 keys',
    caughtBy: title.largeNamespace,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async list(): Promise<BackendSnapshot> {
          const { entries, cursor } = await this.inner.list();
          return { entries: entries.slice(0, 1_000), cursor };
        }
      })(memoryBackend({ store, namespace })),
  },
  'delete-by-prefix': {
    description: 'delete(key) removes every key that starts with it (api-1 takes api-10 and api-1.x along)',
    caughtBy: title.oneKey,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async delete(key: string, condition?: WriteCondition) {
          const deleted = await this.inner.delete(key, condition);
          if (deleted)
            for (const entry of (await this.inner.list()).entries)
              if (entry.key.startsWith(key)) await this.inner.delete(entry.key);
          return deleted;
        }
      })(memoryBackend({ store, namespace })),
  },
  'cas-at-least': {
    description: 'compare-and-set accepts any expectedRevision at or above the current one',
    caughtBy: title.casNever,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private async loosen(key: string, expected: number | null | undefined) {
          if (typeof expected !== 'number') return expected;
          const current = await this.inner.get(key);
          return current && expected >= current.revision ? current.revision : expected;
        }
        override async put(key: string, value: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
          const expectedRevision = await this.loosen(key, options.expectedRevision);
          return this.inner.put(key, value, { ...options, expectedRevision });
        }
        override async delete(key: string, condition: WriteCondition = {}) {
          const expectedRevision = await this.loosen(key, condition.expectedRevision);
          return this.inner.delete(key, { expectedRevision });
        }
      })(memoryBackend({ store, namespace })),
  },
  'history-ignores-limit': {
    description: 'history(key, limit) returns every value it keeps, whatever the limit',
    caughtBy: title.history,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override history(key: string) {
          return this.inner.history!(key, 1_000);
        }
      })(memoryBackend({ store, namespace })),
  },
  'history-oldest-first': {
    description: 'history() returns the oldest values first',
    caughtBy: title.history,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async history(key: string, limit: number) {
          return (await this.inner.history!(key, 1_000)).reverse().slice(0, limit);
        }
      })(memoryBackend({ store, namespace })),
  },
};
