import { runMutant } from './run-mutant.js';

// One file for every run of the gallery: gallery.test.ts names the mutant in the environment and,
// for a mutant, selects the case meant to catch it with vitest's testNamePattern.
runMutant(process.env.ROSTER_MUTANT ?? 'healthy');
