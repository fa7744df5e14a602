// One chaos run: owners and watchers on one topology, a seeded schedule of owner actions and
// faults in cycles (act, settle, check), and the checker's verdict.
import { setTimeout as sleep } from 'node:timers/promises';
import { createDiscovery, type NodeDiscovery } from '@roster/core';
import type { FailoverReport } from '@roster/test-services';
import { makeBackend } from './backend-spec.js';
import { Checker, percentile } from './checker.js';
import { DropsDeletes } from './drops-deletes.js';
import { OwnerSlots } from './owner-slots.js';
import { startOwner } from './owners.js';
import { Prng } from './prng.js';
import { dump, tally } from './run-output.js';
import { describeSettle, settle } from './settle.js';
import { type BackendName, startTopology } from './topology.js';
import { monotonic, type WallClockStep, watchWallClock } from './wall-clock.js';

export interface ChaosOptions {
  readonly backend: BackendName;
  readonly cluster?: boolean;
  readonly durationMs: number;
  readonly seed: number;
  /** Default 2 000. */
  readonly ttl?: number;
  /** Owner processes. Default 3. */
  readonly owners?: number;
  /** Node ids per owner. Default 3. */
  readonly nodesPerOwner?: number;
  /** Watching instances (in this process). Default 3. */
  readonly watchers?: number;
  readonly redisTopology?: 'sentinel' | 'cluster';
  /**
   * Clustered topologies only: at least this many dedicated failover cycles (every other cycle
   * until they are done, then every cycle if the duration is up). Each runs the owner actions,
   * then kills the leader/primary of the run's data and measures how long after the new leader
   * was elected the views converge; more than ttl + 2 s is a violation (issue 12's target).
   */
  readonly failovers?: number;
  /** Progress lines (one per cycle). */
  readonly log?: (line: string) => void;
  /**
   * For the harness's own test only: the watchers' feeds lose every delete (as a broken backend
   * would), and the run must report it.
   */
  readonly sabotage?: 'drop-deletes';
  /** Writes the whole record (owner reports, faults, watcher events) here as NDJSON, for a post-mortem. */
  readonly dumpFile?: string;
}

export interface ChaosResult {
  readonly ok: boolean;
  /** `chaos <backend>: F faults, E events, L lost, P phantom, O order errors, convergence p99 X ms` */
  readonly summary: string;
  readonly seed: number;
  readonly faults: number;
  readonly events: number;
  readonly lost: number;
  readonly phantom: number;
  readonly orderErrors: number;
  readonly convergenceP99: number;
  /** Dedicated failover cycles run (`failovers` option); random failovers are not counted here. */
  readonly failovers: number;
  /** p99 and max, over the dedicated failover cycles, of the time from the election to convergence. */
  readonly afterElectionP99: number;
  readonly afterElectionMax: number;
  readonly violations: readonly string[];
  /** Steps of this machine's wall clock during the run (see wall-clock.ts). */
  readonly wallClockSteps: readonly WallClockStep[];
}

/** Issue 12: views converge within ttl + 2 s of the new leader being elected. */
const AFTER_ELECTION_SLACK = 2_000;

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const ttl = options.ttl ?? 2_000;
  const bound = ttl + Math.max(1_000, ttl / 4);
  const log = options.log ?? (() => {});
  const rng = new Prng(options.seed);
  // The cycles and their faults draw from their own sequence, so that a replay injects the same
  // faults in the same order even when a different number of owner actions fit in a phase.
  const faultRng = new Prng(options.seed ^ 0x5bd1e995);
  const checker = new Checker({
    ttl,
    bound,
    heartbeatSlack: Math.round((ttl / 3) * 1.1) + 500,
    serverRecovery: 7_000,
  });
  // The schedule runs on the monotonic clock: a step of the wall clock must not cut the run short.
  const started = monotonic();
  const namespace = `chaos${options.seed.toString(36)}${Date.now().toString(36)}`;
  const topology = await startTopology(
    options.backend,
    options.cluster ?? false,
    options.redisTopology,
    namespace,
  );
  log(`chaos ${options.backend}: ${topology.description}, seed ${options.seed}, ttl ${ttl} ms`);
  const wallClock = watchWallClock((step) =>
    log(
      `the wall clock of this machine was set ${step.ms > 0 ? 'forward' : 'back'} by ${Math.abs(step.ms)} ms at ${new Date(step.at).toISOString()}: the servers' deadlines and the times recorded after it moved with it`,
    ),
  );
  const wantFailovers = options.failovers ?? 0;
  if (wantFailovers > 0 && !topology.failover) {
    await topology.stop();
    throw new Error('failovers need a clustered topology (--cluster)');
  }
  let failoversDone = 0;
  const afterElection: number[] = [];
  const abort = new AbortController();
  const watchers: { discovery: NodeDiscovery; close: () => Promise<void>; loop: Promise<void> }[] = [];
  const owners = new OwnerSlots({
    owners: options.owners ?? 3,
    nodesPerOwner: options.nodesPerOwner ?? 3,
    ttl,
    checker,
    rng,
    faultRng,
    start: (key) =>
      startOwner({
        key,
        spec: topology.spec,
        namespace,
        ttl,
        ...(topology.memoryStore ? { memoryStore: topology.memoryStore } : {}),
        onReport: (k, report) => checker.report(k, report),
      }),
  });
  try {
    for (let w = 0; w < (options.watchers ?? 3); w += 1) {
      const { backend, close } = makeBackend(topology.spec, namespace, topology.memoryStore);
      const discovery = await createDiscovery({
        backend: options.sabotage === 'drop-deletes' ? new DropsDeletes(backend) : backend,
        ttl,
      });
      const seen = checker.watcher();
      const loop = (async () => {
        for await (const event of discovery.watch({ signal: abort.signal }))
          seen.push({ t: Date.now(), event });
      })();
      watchers.push({ discovery, close, loop });
    }

    await Promise.all(owners.slots.map((slot) => owners.spawn(slot)));

    /**
     * A dedicated failover cycle: owner actions, then the leader of the run's data is killed
     * (the owners' queued calls meet the leaderless window) while the views are polled from that
     * moment on, so that convergence can be measured from the election.
     */
    const failoverCycle = async (failover: () => Promise<FailoverReport>, activeMs: number) => {
      const activeEnd = monotonic() + activeMs;
      while (monotonic() < activeEnd) {
        owners.act();
        await sleep(rng.int(100, 400));
      }
      const interval = checker.serverFault('failover');
      const over = () => {
        interval.to = Date.now();
        return interval.to;
      };
      const running = failover().then(
        (report) => ({ report, at: over() }),
        (error: unknown) => ({ error, at: over() }),
      );
      const result = await settle(
        checker,
        owners.slots,
        watchers,
        running.then((r) => r.at),
        bound,
      );
      const outcome = await running;
      failoversDone += 1;
      if (!result.converged) {
        for (const p of result.problems) checker.violate(p.kind, p.key, `cycle ${cycle}: ${p.detail}`);
      } else {
        checker.convergence.push(Math.max(0, result.matchedSince - result.settledAt));
      }
      if (!('report' in outcome))
        return `failover FAILED: ${String(outcome.error)}; ${describeSettle(result)}`;
      const { report } = outcome;
      // recoveredAfterMs runs from the kill to the end of failover(), which resolved at `at`.
      const electedAt = outcome.at - report.recoveredAfterMs + report.electedAfterMs;
      let tail = '';
      if (result.converged) {
        const ms = Math.max(0, result.matchedSince - electedAt);
        afterElection.push(ms);
        tail = `, ${ms} ms after the election`;
        if (ms > ttl + AFTER_ELECTION_SLACK)
          checker.violate(
            'slow',
            `slow cycle ${cycle}`,
            `cycle ${cycle}: the views converged ${ms} ms after the new leader was elected (bound ttl + ${AFTER_ELECTION_SLACK} = ${ttl + AFTER_ELECTION_SLACK} ms)`,
          );
      }
      return `failover ${failoversDone}/${wantFailovers}: killed member ${report.killed}, member ${report.elected} elected after ${report.electedAfterMs} ms, healthy after ${report.recoveredAfterMs} ms; ${describeSettle(result)}${tail}`;
    };

    const end = started + options.durationMs;
    let cycle = 0;
    for (;;) {
      const activeMs = faultRng.int(2_500, 4_000);
      // A cycle takes about its active phase plus the quiet period: start one only if it fits.
      const timeUp = monotonic() + activeMs + bound + 1_000 > end;
      const failovers = failoversDone < wantFailovers;
      if (cycle > 0 && timeUp && !failovers) break;
      const failover = failovers && (timeUp || cycle % 2 === 0) ? topology.failover : undefined;
      cycle += 1;
      await owners.respawnDead();
      if (failover) {
        log(`cycle ${cycle}: ${await failoverCycle(failover, activeMs)}`);
        continue;
      }
      const activeEnd = monotonic() + activeMs;
      const withServerFault = faultRng.chance(0.7);
      const withOwnerFault = !withServerFault || faultRng.chance(0.7);
      const faults: Promise<string>[] = [];
      const serverAt = monotonic() + faultRng.int(300, activeMs - 300);
      const ownerAt = monotonic() + faultRng.int(300, activeMs - 300);
      let serverStarted = !withServerFault;
      let ownerStarted = !withOwnerFault;
      while (monotonic() < activeEnd) {
        if (!serverStarted && monotonic() >= serverAt) {
          serverStarted = true;
          const fault = topology.nextFault(faultRng, ttl);
          const interval = checker.serverFault(fault.name);
          faults.push(
            fault.run().then(
              () => {
                interval.to = Date.now();
                return `server: ${fault.name}`;
              },
              (error: unknown) => {
                interval.to = Date.now();
                return `server: ${fault.name} FAILED: ${String(error)}`;
              },
            ),
          );
        }
        if (!ownerStarted && monotonic() >= ownerAt) {
          ownerStarted = true;
          faults.push(owners.fault());
        }
        owners.act();
        await sleep(rng.int(100, 400));
      }
      const done = await Promise.all(faults);
      const result = await settle(checker, owners.slots, watchers, Promise.resolve(Date.now()), bound);
      if (result.converged) checker.convergence.push(result.matchedSince - result.settledAt);
      else for (const p of result.problems) checker.violate(p.kind, p.key, `cycle ${cycle}: ${p.detail}`);
      log(`cycle ${cycle}: ${done.join('; ') || 'owner actions only'}; ${describeSettle(result)}`);
    }
    abort.abort();
    checker.finish(Date.now());
    if (options.dumpFile) dump(options.dumpFile, checker, wallClock.steps);
    log(`events by kind: ${[...tally(checker)].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  } finally {
    wallClock.stop();
    abort.abort();
    await owners.killAll();
    await Promise.all(
      watchers.map(async (w) => {
        await w.discovery.close().catch(() => {});
        await w.close();
      }),
    );
    await topology.stop();
  }
  const lost = checker.count('lost');
  const phantom = checker.count('phantom');
  const orderErrors = checker.count('order');
  const convergenceP99 = percentile(checker.convergence, 99);
  const afterElectionP99 = percentile(afterElection, 99);
  const afterElectionMax = afterElection.length > 0 ? Math.max(...afterElection) : 0;
  let summary = `chaos ${options.backend}: ${checker.faults} faults, ${checker.events} events, ${lost} lost, ${phantom} phantom, ${orderErrors} order errors, convergence p99 ${convergenceP99} ms`;
  if (wantFailovers > 0)
    summary += `; ${failoversDone} failovers, converged after the election p99 ${afterElectionP99} ms, max ${afterElectionMax} ms (bound ${ttl + AFTER_ELECTION_SLACK} ms), ${checker.count('slow')} slow`;
  return {
    ok: checker.violations.length === 0,
    summary,
    seed: options.seed,
    faults: checker.faults,
    events: checker.events,
    lost,
    phantom,
    orderErrors,
    convergenceP99,
    failovers: failoversDone,
    afterElectionP99,
    afterElectionMax,
    violations: checker.violations.map((v) => `${v.kind}: ${v.detail}`),
    wallClockSteps: wallClock.steps,
  };
}
