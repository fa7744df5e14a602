import { DEFAULT_TTL, type NamespaceInspection, silentLogger } from '@roster/core';
import { memoryBackend } from '../../src/index.js';
import { type Mutant, Wrapped } from './mutants.js';

/** The suite's titles of the `inspect()` cases, as the gallery reads them from vitest's report. */
const title = {
  absent: 'backend: inspect() of an absent namespace says it does not exist and creates nothing',
  existing: 'backend: inspect() of an existing namespace reports its ttl and changes nothing',
};

/** Memory backends whose optional `inspect()` is wrong the way a quick implementation goes wrong. */
export const INSPECT_MUTANTS: Record<string, Mutant> = {
  'inspect-creates-namespace': {
    description:
      'inspect() opens the namespace to read it: an absent one is created with the default ttl, and reported absent',
    caughtBy: title.absent,
    createBackend: (store, namespace) =>
      new (class extends Wrapped {
        override async inspect(): Promise<NamespaceInspection> {
          const probe = memoryBackend({ store, namespace });
          await probe.open({ ttl: DEFAULT_TTL, logger: silentLogger });
          await probe.close();
          return { exists: false };
        }
      })(memoryBackend({ store, namespace })),
  },
  'inspect-reports-default-ttl': {
    description: 'inspect() of an existing namespace reports the default ttl, not the one it was set up with',
    caughtBy: title.existing,
    createBackend: (store, namespace) => {
      const inner = memoryBackend({ store, namespace });
      return new (class extends Wrapped {
        override async inspect(): Promise<NamespaceInspection> {
          const found = await inner.inspect!();
          return found.exists ? { exists: true, ttl: DEFAULT_TTL } : found;
        }
      })(inner);
    },
  },
};
