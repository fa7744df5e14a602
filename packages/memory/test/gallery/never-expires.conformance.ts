import { runMutant } from './run-mutant.js';

runMutant('never-expires');
