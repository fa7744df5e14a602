// The expiry sweep on Redis: its view of the server (leases, the due check, the sweep script) and its start.
import type { Logger } from '@roster/core';
import { ExpirySweep, type Lease, type SweepStore, sweepTiming } from './expiry-sweep.js';
import { type KeyLayout, LIVENESS_GROUP } from './key-layout.js';
import type { RosterCommands } from './lua-scripts.js';
import type { AnyClient } from './redis-connection.js';

const SWEEP_BATCH = 1_000;
const MAX_SWEEP_BATCHES = 20;

/** What a sweep store needs besides the client: where, who, and how to bound each call. */
export interface SweepStoreContext {
  readonly keys: KeyLayout;
  /** KEYS[1..5] of the scripts. */
  readonly baseKeys: readonly string[];
  /** This instance's value in the sweeper and standby leases. */
  readonly holder: string;
  readonly ttl: number;
  readonly streamMaxLength: number;
  /** Runs one call within the request timeout. */
  readonly within: <T>(work: () => Promise<T>, what: string) => Promise<T>;
}

/** Leases, the due check and the sweep script, each within the request timeout. */
export function sweepStore(client: AnyClient & RosterCommands, context: SweepStoreContext): SweepStore {
  const { keys, holder, within } = context;
  const key = (lease: Lease) => (lease === 'sweeper' ? keys.sweeper : keys.standby);
  return {
    acquire: (lease, ms) =>
      within(
        async () => (await client.set(key(lease), holder, 'PX', ms, 'NX')) === 'OK',
        `taking the ${lease} lease`,
      ),
    renew: (lease, ms) =>
      within(
        () => client.set(key(lease), holder, 'PX', ms, 'XX', 'GET') as Promise<string | null>,
        `renewing the ${lease} lease`,
      ),
    restore: (lease, previous, ms) =>
      within(async () => {
        await client.set(key(lease), previous, 'PX', ms);
      }, `restoring the ${lease} lease`),
    release: (lease) =>
      within(async () => {
        await client.rosterReleaseV2(key(lease), holder);
      }, `releasing the ${lease} lease`),
    anyDue: () =>
      within(async () => {
        try {
          const due = (await client.xpending(
            keys.live,
            LIVENESS_GROUP,
            'IDLE',
            // Whole ms: a fractional ttl rounds up, so a key never goes early.
            Math.ceil(context.ttl),
            '-',
            '+',
            1,
          )) as unknown[];
          return due.length > 0;
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('NOGROUP')) return false;
          throw error;
        }
      }, 'looking for expired records'),
    sweep: () => within(() => sweepExpired(client, context), 'sweeping expired records'),
  };
}

async function sweepExpired(client: RosterCommands, context: SweepStoreContext): Promise<void> {
  for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
    const due = await client.rosterSweepV2(
      ...context.baseKeys,
      String(context.ttl),
      SWEEP_BATCH,
      context.streamMaxLength,
    );
    if (due < SWEEP_BATCH) break;
  }
}

/** Starts this instance's part in the expiry sweep (see expiry-sweep.ts); a failure is logged, then retried. */
export function startSweep(
  client: AnyClient & RosterCommands,
  context: SweepStoreContext,
  logger: Logger,
): ExpirySweep {
  const sweep = new ExpirySweep(
    sweepStore(client, context),
    context.holder,
    sweepTiming(context.ttl),
    (error, first) =>
      (first ? logger.warn : logger.debug).call(logger, 'the expiry sweep failed; retrying', { error }),
  );
  sweep.start();
  return sweep;
}
