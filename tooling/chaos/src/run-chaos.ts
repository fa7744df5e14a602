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
import { makeBackend } from './backend-spec.js';
import { Checker, percentile, viewAt } from './checker.js';
import type { OwnedState } from './owner-agent.js';
import { type Owner, startOwner } from './owners.js';
import { Prng } from './prng.js';
import { type BackendName, startTopology } from './topology.js';

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
  readonly violations: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ZONES = ['a', 'b', 'c'];

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
  const started = Date.now();
  const topology = await startTopology(options.backend, options.cluster ?? false, options.redisTopology);
  log(`chaos ${options.backend}: ${topology.description}, seed ${options.seed}, ttl ${ttl} ms`);
  const namespace = `chaos${options.seed.toString(36)}${Date.now().toString(36)}`;
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

    const end = started + options.durationMs;
    let cycle = 0;
    for (;;) {
      const activeMs = faultRng.int(2_500, 4_000);
      // A cycle takes about its active phase plus the quiet period: start one only if it fits.
      if (cycle > 0 && Date.now() + activeMs + bound + 1_000 > end) break;
      cycle += 1;
      for (const slot of slots) if (!slot.owner?.alive) await spawn(slot);
      const activeEnd = Date.now() + activeMs;
      const withServerFault = faultRng.chance(0.7);
      const withOwnerFault = !withServerFault || faultRng.chance(0.7);
      const faults: Promise<string>[] = [];
      const serverAt = Date.now() + faultRng.int(300, activeMs - 300);
      const ownerAt = Date.now() + faultRng.int(300, activeMs - 300);
      let serverStarted = !withServerFault;
      let ownerStarted = !withOwnerFault;
      while (Date.now() < activeEnd) {
        if (!serverStarted && Date.now() >= serverAt) {
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
        if (!ownerStarted && Date.now() >= ownerAt) {
          ownerStarted = true;
          faults.push(ownerFault());
        }
        act();
        await sleep(rng.int(100, 400));
      }
      const done = await Promise.all(faults);
      const settledAt = Date.now();
      const { converged, ms, problems } = await settle(checker, slots, watchers, settledAt, bound);
      if (converged) checker.convergence.push(ms);
      else for (const p of problems) checker.violate(p.kind, p.key, `cycle ${cycle}: ${p.detail}`);
      log(
        `cycle ${cycle}: ${done.join('; ') || 'owner actions only'}; ${converged ? `converged after ${ms} ms` : `NOT converged: ${problems.length} differences`}`,
      );
    }
    abort.abort();
    checker.finish(Date.now());
    if (options.dumpFile) dump(options.dumpFile, checker);
    log(`events by kind: ${[...tally(checker)].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  } finally {
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
  const summary = `chaos ${options.backend}: ${checker.faults} faults, ${checker.events} events, ${lost} lost, ${phantom} phantom, ${orderErrors} order errors, convergence p99 ${convergenceP99} ms`;
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
    violations: checker.violations.map((v) => `${v.kind}: ${v.detail}`),
  };
}

/**
 * The quiet period after a cycle: no owner actions, no faults. Polls until every watcher's view
 * (its events folded, and its list()) equals what the live owners hold and has stayed so for the
 * whole quiet period (at least `bound` + 1 s after the faults settled, so killed owners' nodes
 * must be gone); gives up `bound` + 15 s after settling.
 */
async function settle(
  checker: Checker,
  slots: readonly Slot[],
  watchers: readonly { discovery: NodeDiscovery }[],
  settledAt: number,
  bound: number,
): Promise<{ converged: boolean; ms: number; problems: ReturnType<Checker['compare']> }> {
  const minQuiet = settledAt + bound + 1_000;
  const deadline = settledAt + bound + 15_000;
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
    if (matchedSince !== undefined && Date.now() >= minQuiet)
      return { converged: true, ms: matchedSince - settledAt, problems };
    if (Date.now() >= deadline) return { converged: false, ms: Date.now() - settledAt, problems };
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

function dump(file: string, checker: Checker): void {
  const lines: string[] = [];
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
