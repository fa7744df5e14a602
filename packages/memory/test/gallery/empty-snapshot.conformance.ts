import { runMutant } from './run-mutant.js';

runMutant('empty-snapshot');
