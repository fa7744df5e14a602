import { runMutant } from './run-mutant.js';

runMutant('healthy');
