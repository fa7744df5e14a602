import { runMutant } from './run-mutant.js';

runMutant('reorders');
