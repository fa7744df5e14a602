import { DiscoveryClosedError } from '@roster/core';
import type { BackendChange, BackendOpenContext, BackendWatch, WriteCondition } from '@roster/core/spi';
import { memoryBackend } from '../../src/index.js';
import { type Mutant, Wrapped } from './mutants.js';

/** The suite's titles of the SPI edges made explicit in issue 14, as the gallery reads them. */
const title = {
  deleteIfAbsent:
    'backend: delete with expectedRevision null (only if absent) deletes nothing and resolves false',
  closeTwice: 'backend: close() is idempotent: twice in a row, twice at once, and on a backend never opened',
  openTwice: 'backend: a second open() of one backend rejects InvalidOptionsError and the first stays usable',
  invalidCursor: 'backend: watch() from a cursor list() never returned throws InvalidOptionsError',
};

/** Memory backends that get an edge of the SPI wrong the way the shipped backends once differed. */
export const EDGE_MUTANTS: Record<string, Mutant> = {
  'delete-null-deletes': {
    description: 'delete(key, { expectedRevision: null }) deletes the key unconditionally',
    caughtBy: title.deleteIfAbsent,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override delete(key: string, condition: WriteCondition = {}) {
          return this.inner.delete(key, condition.expectedRevision === null ? {} : condition);
        }
      })(memoryBackend({ store, namespace })),
  },
  'second-close-rejects': {
    description: 'a second close() rejects instead of resolving',
    caughtBy: title.closeTwice,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private closedOnce = false;
        override async close() {
          if (this.closedOnce) throw new DiscoveryClosedError('the backend is already closed');
          this.closedOnce = true;
          await this.inner.close();
        }
      })(memoryBackend({ store, namespace })),
  },
  'open-twice-resolves': {
    description: 'a second open() of the same backend resolves, as if it were the first',
    caughtBy: title.openTwice,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        private openedOnce = false;
        override async open(context: BackendOpenContext) {
          if (this.openedOnce) return;
          this.openedOnce = true;
          await this.inner.open(context);
        }
      })(memoryBackend({ store, namespace })),
  },
  'watch-takes-any-cursor': {
    description: 'watch() of a cursor that list() never returned starts at "now" instead of refusing it',
    caughtBy: title.invalidCursor,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
          const own = /^\d{1,16}$/.test(cursor);
          return this.inner.watch(own ? cursor : String(Number.MAX_SAFE_INTEGER), onChange);
        }
      })(memoryBackend({ store, namespace })),
  },
};
