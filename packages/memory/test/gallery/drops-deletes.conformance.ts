import { runMutant } from './run-mutant.js';

runMutant('drops-deletes');
