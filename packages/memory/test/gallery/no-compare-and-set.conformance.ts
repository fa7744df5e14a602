import { runMutant } from './run-mutant.js';

runMutant('no-compare-and-set');
