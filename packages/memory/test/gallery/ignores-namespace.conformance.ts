import { runMutant } from './run-mutant.js';

runMutant('ignores-namespace');
