/**
 * Where a strategy gets its randomness: a function returning a float in [0, 1), like `Math.random`.
 * Pass a seeded one to make picks reproducible in tests and simulations.
 */
export type RandomSource = () => number;

/** Options of the strategies that draw at random. */
export interface RandomOptions {
  /** Default `Math.random`. */
  random?: RandomSource;
}

/** An index in [0, length) drawn from `random`; clamps a source that returns 1 by mistake. */
export function randomIndex(length: number, random: RandomSource): number {
  return Math.min(length - 1, Math.floor(random() * length));
}
