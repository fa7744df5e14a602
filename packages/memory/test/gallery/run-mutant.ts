import { describeConformance } from '@roster/core/conformance';
import { memoryBackend } from '../../src/index.js';
import { ALL_MUTANTS } from './all-mutants.js';
import { galleryStore } from './mutants.js';

/** Runs the conformance suite against one mutant (or the healthy backend: `healthy`). */
export function runMutant(name: string): void {
  const { store, faults } = galleryStore();
  const mutant = ALL_MUTANTS[name];
  if (!mutant && name !== 'healthy') throw new Error(`no mutant named "${name}" in the gallery`);
  describeConformance({
    name,
    createBackend: mutant
      ? ({ namespace }) => mutant.createBackend(store, namespace)
      : ({ namespace }) => memoryBackend({ store, namespace }),
    faults: mutant?.faults ? mutant.faults(store, faults) : faults,
  });
}
