/** How big each measure is. `--quick` shrinks everything for a smoke run (not a measurement). */
export interface Sizes {
  readonly heartbeatConcurrency: number;
  readonly heartbeatRounds: number;
  readonly heartbeatRoundMs: number;
  readonly propagationSamples: number;
  readonly propagationWarmup: number;
  readonly syncNodes: readonly number[];
  readonly syncRepeats: number;
  readonly expiryTtl: number;
  readonly expiryNodes: number;
  readonly idleInstances: readonly number[];
  readonly idleTtl: number;
  readonly idleWindowMs: number;
  readonly soakNodes: number;
  readonly soakTtl: number;
  readonly soakSeconds: number;
}

/** Ttl of the namespaces filled for the sync measure: long enough to fill and read 100,000 nodes. */
export const SYNC_TTL = 600_000;

export const FULL: Sizes = {
  heartbeatConcurrency: 32,
  heartbeatRounds: 3,
  heartbeatRoundMs: 3_000,
  propagationSamples: 300,
  propagationWarmup: 30,
  syncNodes: [10_000, 100_000],
  syncRepeats: 3,
  expiryTtl: 3_000,
  expiryNodes: 40,
  idleInstances: [20, 50],
  idleTtl: 3_000,
  idleWindowMs: 30_000,
  soakNodes: 10_000,
  soakTtl: 10_000,
  soakSeconds: 300,
};

export const QUICK: Sizes = {
  heartbeatConcurrency: 32,
  heartbeatRounds: 1,
  heartbeatRoundMs: 1_000,
  propagationSamples: 30,
  propagationWarmup: 5,
  syncNodes: [1_000, 5_000],
  syncRepeats: 1,
  expiryTtl: 3_000,
  expiryNodes: 10,
  idleInstances: [20, 50],
  idleTtl: 3_000,
  idleWindowMs: 5_000,
  soakNodes: 1_000,
  soakTtl: 10_000,
  // Long enough for a second heartbeat of every node (interval ttl / 3 ± 10 %), so gaps exist.
  soakSeconds: 8,
};
