// Node selection strategies (random, round-robin, least-loaded, power-of-two-choices, rendezvous) and createPicker.
export {
  createPicker,
  type Picker,
  type PickerOptions,
  type PickStrategy,
  type StrategyName,
} from './create-picker.js';
export { leastLoaded } from './least-loaded.js';
export { NoNodesAvailableError } from './no-nodes-available-error.js';
export { powerOfTwoChoices } from './power-of-two-choices.js';
export { random } from './random.js';
export type { RandomOptions, RandomSource } from './random-source.js';
export { rendezvous } from './rendezvous.js';
export { type RoundRobin, roundRobin } from './round-robin.js';
