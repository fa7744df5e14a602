import { runMutant } from './run-mutant.js';

runMutant('expires-heartbeating-nodes');
