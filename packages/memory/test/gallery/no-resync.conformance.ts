import { runMutant } from './run-mutant.js';

runMutant('no-resync');
