import { runMutant } from './run-mutant.js';

runMutant('accepts-invalid-ids');
