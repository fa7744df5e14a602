// The expiry sweep on Redis: its view of the server (leases, the due check, the sweep script) and its start.
import { type Logger, silentLogger } from '@roster/core';
import { ExpirySweep, type Lease, type SweepStore, sweepTiming } from './expiry-sweep.js';
import { type KeyLayout, LIVENESS_GROUP } from './key-layout.js';
import type { RosterCommands } from './lua-scripts.js';
import type { AnyClient } from './redis-connection.js';
import { isPermissionDenied } from './redis-errors.js';

const SWEEP_BATCH = 1_000;
const MAX_SWEEP_BATCHES = 20;

/** What a sweep store needs besides the client: where, who, and how to bound each call. */
export interface SweepStoreContext {
  readonly keys: KeyLayout;
  /** KEYS[1..6] of the scripts. */
  readonly baseKeys: readonly string[];
  /** This instance's value in the sweeper and standby leases. */
  readonly holder: string;
  readonly ttl: number;
  readonly streamMaxLength: number;
  /** Runs one call within the request timeout. */
  readonly within: <T>(work: () => Promise<T>, what: string) => Promise<T>;
}

/** Leases, the due check, the sweep script and the server's clock, each within the request timeout. */
export function sweepStore(
  client: AnyClient & RosterCommands,
  context: SweepStoreContext,
  logger: Logger = silentLogger,
): SweepStore {
  const { keys, holder, within } = context;
  let timeRefused = false;
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
    serverTime: () =>
      within(async () => {
        if (timeRefused) return undefined;
        try {
          return Number(await client.rosterClockV2(keys.clock));
        } catch (error) {
          if (!isPermissionDenied(error)) throw error;
          // An ACL from before the clock check: sweep as before, and say once what it costs.
          timeRefused = true;
          logger.warn(
            'the Redis user may not run TIME: a forward step of the server clock cannot be told apart and would expire live nodes (grant +time, see the README)',
            { error },
          );
          return undefined;
        }
      }, "reading the server's clock"),
    noteClockStep: (step) =>
      within(
        async () =>
          Number(
            await client.rosterNoteStepV2(
              keys.clock,
              step.ms,
              step.since,
              step.at,
              String(context.ttl),
              Math.max(1_000, context.ttl / 4),
            ),
          ),
        "recording a step of the server's clock",
      ),
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
    sweepStore(client, context, logger),
    context.holder,
    sweepTiming(context.ttl),
    (error, first) =>
      (first ? logger.warn : logger.debug).call(logger, 'the expiry sweep failed; retrying', { error }),
    Math.random,
    {
      onStep: (step, allowance) =>
        step.kind === 'forward'
          ? logger.warn(
              `the Redis server's clock was set forward by about ${step.ms} ms: records heartbeated before that get ${allowance} ms more before they expire, for the next ${context.ttl + allowance} ms`,
              { step: step.ms, allowance },
            )
          : logger.warn(
              `the Redis server's clock was set back by at least ${step.ms} ms: records heartbeated before that expire up to ${step.ms} ms late`,
              { step: step.ms },
            ),
    },
  );
  sweep.start();
  return sweep;
}
