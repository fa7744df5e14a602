// One chaos run: owners and watchers on one topology, a seeded schedule of owner actions and
// faults in cycles (act, settle, check), and the checker's verdict.
import { writeFileSync } from 'node:fs';
import {
  type BackendChange,
  type BackendWatch,
  createDiscovery,
  type NodeDiscovery,
  type NodeInfo,
} from '@roster/core';
import { DelegatingBackend } from '@roster/core/conformance';
import type { FailoverReport } from '@roster/test-services';
import { makeBackend } from './backend-spec.js';
import { Checker, percentile, viewAt } from './checker.js';
import type { OwnedState } from './owner-agent.js';
import { type Owner, startOwner } from './owners.js';
import { Prng } from './prng.js';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ZONES = ['a', 'b', 'c'];
/** Issue 12: views converge within ttl + 2 s of the new leader being elected. */
const AFTER_ELECTION_SLACK = 2_000;

interface Slot {
  readonly index: number;
  generation: number;
  owner: Owner | undefined;
  /** Ids this slot's owner was told to hold (registered, not unregistered since). */
  readonly held: Set<string>;
  readonly ids: readonly string[];
}

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
  const slots: Slot[] = [];
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

    const spawn = async (slot: Slot) => {
      slot.generation += 1;
      const key = `o${slot.index}g${slot.generation}`;
      checker.ownerStarted(key);
      slot.owner = await startOwner({
        key,
        spec: topology.spec,
        namespace,
        ttl,
        ...(topology.memoryStore ? { memoryStore: topology.memoryStore } : {}),
        onReport: (k, report) => checker.report(k, report),
      });
      slot.held.clear();
      for (const id of slot.ids) register(slot, id);
    };
    const register = (slot: Slot, id: string) => {
      slot.held.add(id);
      slot.owner?.send({
        op: 'register',
        id,
        load: rng.int(0, 100),
        metadata: { zone: rng.pick(ZONES), v: String(rng.int(1, 9)) },
      });
    };
    for (let i = 0; i < (options.owners ?? 3); i += 1) {
      const ids = Array.from({ length: options.nodesPerOwner ?? 3 }, (_, j) => `n${i}-${j}`);
      slots.push({ index: i, generation: -1, owner: undefined, held: new Set(), ids });
    }
    await Promise.all(slots.map(spawn));

    /** One owner action on a live, running owner. */
    const act = () => {
      const live = slots.filter((s) => s.owner?.alive && !s.owner.paused);
      if (live.length === 0) return;
      const slot = rng.pick(live);
      const owner = slot.owner as Owner;
      const id = rng.pick(slot.ids);
      if (!slot.held.has(id)) return register(slot, id);
      const roll = rng.next();
      if (roll < 0.45) owner.send({ op: 'load', id, load: rng.int(0, 100) });
      else if (roll < 0.75) register(slot, id);
      else {
        slot.held.delete(id);
        owner.send({ op: 'unregister', id });
      }
    };

    /** An owner fault, started now; resolves when it is over. */
    const ownerFault = async (): Promise<string> => {
      const live = slots.filter((s) => s.owner?.alive && !s.owner.paused);
      if (live.length === 0) return 'no owner to fault';
      const slot = faultRng.pick(live);
      const owner = slot.owner as Owner;
      const kinds = owner.canPause
        ? ['kill', 'kill+respawn', 'pause short', 'pause long']
        : ['kill', 'kill+respawn'];
      const kind = faultRng.pick(kinds);
      if (kind.startsWith('pause')) {
        const ms = kind === 'pause short' ? Math.round(ttl / 4) : Math.round(ttl * 1.5);
        checker.ownerPaused(owner.key, ms);
        await owner.pause(ms);
        return `${owner.key} paused ${ms} ms`;
      }
      checker.ownerKilled(owner.key);
      await owner.kill();
      if (kind === 'kill+respawn') {
        await spawn(slot);
        return `${owner.key} killed, respawned as ${slot.owner?.key}`;
      }
      return `${owner.key} killed`;
    };

    /**
     * A dedicated failover cycle: owner actions, then the leader of the run's data is killed
     * (the owners' queued calls meet the leaderless window) while the views are polled from that
     * moment on, so that convergence can be measured from the election.
     */
    const failoverCycle = async (failover: () => Promise<FailoverReport>, activeMs: number) => {
      const activeEnd = monotonic() + activeMs;
      while (monotonic() < activeEnd) {
        act();
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
        slots,
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
      for (const slot of slots) if (!slot.owner?.alive) await spawn(slot);
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
          faults.push(ownerFault());
        }
        act();
        await sleep(rng.int(100, 400));
      }
      const done = await Promise.all(faults);
      const result = await settle(checker, slots, watchers, Promise.resolve(Date.now()), bound);
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
    await Promise.all(slots.map((s) => s.owner?.kill()));
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

interface Settled {
  readonly converged: boolean;
  /** When the faults were over (their promise resolved). */
  readonly settledAt: number;
  /** Since when the views have matched the truth for good (when converged). */
  readonly matchedSince: number;
  readonly problems: ReturnType<Checker['compare']>;
}

function describeSettle(result: Settled): string {
  return result.converged
    ? `converged after ${Math.max(0, result.matchedSince - result.settledAt)} ms`
    : `NOT converged: ${result.problems.length} differences`;
}

/**
 * The quiet period after a cycle: no owner actions. Polls, from now on, whether every watcher's
 * view (its events folded, and its list()) equals what the live owners hold. Once `faultsOver`
 * resolved (to the time the faults were over), the views must have matched for good through the
 * whole quiet period (at least `bound` + 1 s after that time, so killed owners' nodes must be
 * gone); it gives up `bound` + 15 s after it. Polling starts before the faults are over so that a
 * failover cycle can tell when the views converged relative to the election.
 */
async function settle(
  checker: Checker,
  slots: readonly Slot[],
  watchers: readonly { discovery: NodeDiscovery }[],
  faultsOver: Promise<number>,
  bound: number,
): Promise<Settled> {
  let settledAt: number | undefined;
  void faultsOver.then(
    (at) => {
      settledAt = at;
    },
    () => {
      settledAt = Date.now();
    },
  );
  let matchedSince: number | undefined;
  let problems: ReturnType<Checker['compare']> = [];
  for (;;) {
    const now = Date.now();
    const states = await Promise.all(
      slots.filter((s) => s.owner?.alive).map((s) => (s.owner as Owner).state(3_000)),
    );
    const truth = new Map<string, OwnedState>();
    let unanswered = false;
    for (const nodes of states) {
      if (!nodes) unanswered = true;
      else for (const node of nodes) truth.set(node.id, node);
    }
    const views: Map<string, NodeInfo>[] = [
      ...checker.watchers.map((seen) => viewAt(seen)),
      ...watchers.map((w) => new Map(w.discovery.list().map((n) => [n.id, n] as const))),
    ];
    problems = unanswered
      ? [{ kind: 'lost', key: 'owner-silent', detail: 'a live owner did not answer' }]
      : checker.compare(truth, views);
    if (problems.length === 0) matchedSince ??= now;
    else matchedSince = undefined;
    if (settledAt !== undefined) {
      if (matchedSince !== undefined && Date.now() >= settledAt + bound + 1_000)
        return { converged: true, settledAt, matchedSince, problems };
      if (Date.now() >= settledAt + bound + 15_000)
        return { converged: false, settledAt, matchedSince: Date.now(), problems };
    }
    await sleep(200);
  }
}

/** How many events of each kind the watchers saw, and how many owner calls failed: what a run exercised. */
function tally(checker: Checker): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const seen of checker.watchers)
    for (const { event } of seen) add(event.type === 'left' ? `left ${event.reason}` : event.type);
  for (const { report } of checker.reports) {
    if (report.type === 'failed') add(`failed ${report.op}`);
    if (report.type === 'lost') add(`owner lost (${report.reason})`);
  }
  return counts;
}

function dump(file: string, checker: Checker, wallClockSteps: readonly WallClockStep[]): void {
  const lines: string[] = [];
  for (const step of wallClockSteps) lines.push(JSON.stringify({ wallClockStep: step }));
  for (const r of checker.reports) lines.push(JSON.stringify({ owner: r.key, ...r.report }));
  for (const life of checker.owners.values()) lines.push(JSON.stringify({ lifecycle: life }));
  for (const fault of checker.serverFaults) lines.push(JSON.stringify({ serverFault: fault }));
  checker.watchers.forEach((seen, w) => {
    for (const s of seen) lines.push(JSON.stringify({ watcher: w, t: s.t, event: s.event }));
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** A feed that never reports a delete: what `sabotage: 'drop-deletes'` gives the watchers. */
class DropsDeletes extends DelegatingBackend {
  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    return super.watch(cursor, (change) => {
      if (change.type !== 'delete') onChange(change);
    });
  }
}
