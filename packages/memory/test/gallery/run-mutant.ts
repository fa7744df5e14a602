import { describeConformance } from '@roster/core/conformance';
import { memoryBackend } from '../../src/index.js';
import { galleryStore, MUTANTS } from './mutants.js';

/** Runs the whole conformance suite against one mutant (or the healthy backend: `healthy`). */
export function runMutant(name: string): void {
  const { store, faults } = galleryStore();
  const mutant = MUTANTS[name];
  describeConformance({
    name,
    createBackend: mutant
      ? ({ namespace }) => mutant.createBackend(store, namespace)
      : ({ namespace }) => memoryBackend({ store, namespace }),
    faults,
  });
}
