export { type ChaosOptions, type ChaosResult, runChaos } from './run-chaos.js';
export { BACKENDS, type BackendName } from './topology.js';
