// The shared part of every clustered-server handle (NATS cluster, etcd cluster, Redis Sentinel,
// Redis Cluster): fault operations fanned out to every process, the wait until the topology's own
// health check finds nothing wrong, the kill-elect-restart cycle of a failover, and starting the
// members and the handle so that a failed start leaves nothing running.
import { setTimeout as delay } from 'node:timers/promises';
import { freePorts } from './free-port.js';
import { AddressInUseError } from './process-server.js';
import { trackHandle, untrackHandle } from './registry.js';
import type { ServiceHandle, ServiceKind } from './service-handle.js';
import { waitFor } from './wait-for.js';

/** How long one probe of a member may take: a frozen one must not hold up a health check. */
export const PROBE_TIMEOUT_MS = 1_000;
/** A cluster's startup timeout when the caller gives none: its members elect a leader first. */
export const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
/** How long a failover may wait for a new leader, and how often it asks. */
const ELECTION_TIMEOUT_MS = 30_000;
const ELECTION_POLL_MS = 50;

/**
 * Several server processes that form one cluster. The `ServiceHandle` operations act on every
 * process at once (all at the same time, so that a quorum forms again on restart); `stop()`
 * SIGKILLs them before removing their temp dirs, since the data is thrown away. `member(i)` reaches
 * one member, with the same operations as a single server.
 *
 * @example
 * ```ts
 * const etcd = await startEtcdCluster({ size: 3 });
 * await etcd.member(2).kill();
 * await etcd.member(2).restart(); // same ports, same data dir
 * await etcd.isolate(0, 2_000);   // SIGSTOP member 0 for 2 s
 * ```
 */
export interface ClusterHandle extends ServiceHandle {
  /** Always `binary`: clusters are started from the server binaries on loopback ports. */
  readonly source: 'binary';
  /** Every member's client URL, in member order. */
  readonly urls: readonly string[];
  /** How many members. */
  readonly size: number;
  /** Member `i` (0-based); its stop/restart/kill/pause act on that process only. Throws a RangeError out of range. */
  member(i: number): ServiceHandle;
  /**
   * Freezes member `i` (SIGSTOP) now and thaws it after `ms`; resolves once it resumed. Like
   * `pause()`, the freeze happens before the promise is handed back.
   */
  isolate(i: number, ms: number): Promise<void>;
  /**
   * Resolves once the whole cluster serves again (a leader elected, every member caught up), or
   * rejects after `timeoutMs` (default: the startup timeout) with what is still wrong.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
}

/** What `failover()` did, with its timings (for reports; tests should not assert on them). */
export interface FailoverReport {
  /** The member that was the leader/primary and was killed. */
  killed: number;
  /** The member that took over. */
  elected: number;
  /** From the kill until the new leader/primary was seen, in ms. */
  electedAfterMs: number;
  /** From the kill until the killed member was back and the cluster healthy again, in ms. */
  recoveredAfterMs: number;
}

/** The shared part of every cluster handle: fan-out of the fault operations, bounds checks, stop, health wait, failover. */
export abstract class ClusterServiceHandle implements ClusterHandle {
  readonly source = 'binary' as const;
  readonly url: string;
  readonly urls: readonly string[];
  #stopped: Promise<void> | undefined;

  /**
   * `members`: the processes `member(i)` reaches, in order; `what`: the topology in the timeout
   * message of `waitUntilHealthy`, e.g. `the etcd cluster`; `helpers`: processes that belong to
   * the topology without being members (Redis sentinels): stopped, killed, paused and restarted with it.
   */
  constructor(
    readonly kind: ServiceKind,
    protected readonly members: readonly ServiceHandle[],
    readonly startupTimeoutMs: number,
    private readonly what: string,
    protected readonly helpers: readonly ServiceHandle[] = [],
  ) {
    this.urls = members.map((member) => member.url);
    this.url = this.urls.join(',');
  }

  #all(): ServiceHandle[] {
    return [...this.members, ...this.helpers];
  }

  get size(): number {
    return this.members.length;
  }

  member(i: number): ServiceHandle {
    return pick(this.members, i, 'member');
  }

  isolate(i: number, ms: number): Promise<void> {
    return this.member(i).pause(ms);
  }

  /** A raft group of fewer than three cannot elect a new leader once its leader is gone. */
  protected assertCanFailOver(): void {
    if (this.members.length < 3) {
      throw new Error(
        `failover needs at least 3 ${this.kind} members (has ${this.members.length}): ` +
          'the survivors of a smaller cluster have no quorum to elect a new leader',
      );
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      // SIGKILL first: the data dirs go anyway, and members stopping gracefully together wait on
      // each other (an etcd leader tries to hand over leadership to a peer that is also leaving),
      // which took ~7 s for three etcd members instead of ~0.1 s.
      await Promise.allSettled(this.#all().map((member) => member.kill()));
      const results = await Promise.allSettled(this.#all().map((member) => member.stop()));
      untrackHandle(this);
      const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failures.length > 0) {
        throw new AggregateError(
          failures.map((f) => f.reason),
          `${failures.length} ${this.kind} member(s) failed to stop`,
        );
      }
    })();
    return this.#stopped;
  }

  /** Restarts every member at once (one by one, a lone member could wait forever for a quorum), then waits for the cluster. */
  async restart(): Promise<void> {
    await Promise.all(this.#all().map((member) => member.restart()));
    await this.waitUntilHealthy();
  }

  async kill(): Promise<void> {
    await Promise.all(this.#all().map((member) => member.kill()));
  }

  /** Freezes every member now and thaws them after `ms`. */
  async pause(ms: number): Promise<void> {
    await this.suspend();
    try {
      await delay(ms);
    } finally {
      await this.resume();
    }
  }

  async suspend(): Promise<void> {
    await Promise.all(this.#all().map((member) => member.suspend()));
  }

  async resume(): Promise<void> {
    await Promise.all(this.#all().map((member) => member.resume()));
  }

  /** Polls `healthProblem()`; on timeout the error names the last problem it found. */
  async waitUntilHealthy(timeoutMs = this.startupTimeoutMs): Promise<void> {
    let problem = 'not checked yet';
    await waitFor(
      async () => {
        problem = (await this.healthProblem().catch((error: Error) => error.message)) ?? '';
        return problem === '';
      },
      { timeoutMs, description: `${this.what} to be healthy`, intervalMs: 100 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last problem: ${problem}`);
    });
  }

  /** What is wrong with the topology now, or undefined when it is healthy. */
  protected abstract healthProblem(): Promise<string | undefined>;

  /**
   * The failover cycle: kills member `killed`, waits until `elected()` names the member that took
   * over (`waitingFor` says what, for the timeout message), restarts the killed member on its ports
   * and data, and waits until the topology is healthy again.
   */
  protected async killAndRecover(
    killed: number,
    waitingFor: string,
    elected: () => Promise<number | undefined>,
  ): Promise<FailoverReport> {
    const started = Date.now();
    await this.member(killed).kill();
    const winner = await waitFor(elected, {
      timeoutMs: ELECTION_TIMEOUT_MS,
      description: waitingFor,
      intervalMs: ELECTION_POLL_MS,
    });
    const electedAfterMs = Date.now() - started;
    await this.member(killed).restart();
    await this.waitUntilHealthy();
    return { killed, elected: winner, electedAfterMs, recoveredAfterMs: Date.now() - started };
  }
}

/** Element `i` of `list`; a RangeError naming the valid range when there is none. */
export function pick<T>(list: readonly T[], i: number, what: string): T {
  const item = list[i];
  if (!Number.isInteger(i) || item === undefined) {
    throw new RangeError(`${what} index must be an integer from 0 to ${list.length - 1}; got ${i}`);
  }
  return item;
}

/**
 * Registers a freshly built cluster handle (so that stopAllServices and the exit hook reach it)
 * and runs `ready` on it, by default `waitUntilHealthy()`; when that fails, stops every process
 * of the cluster before rethrowing, so that a failed start leaves nothing running.
 */
export async function readyOrStopped<H extends ClusterServiceHandle>(
  cluster: H,
  ready: (cluster: H) => Promise<void> = (c) => c.waitUntilHealthy(),
): Promise<H> {
  trackHandle(cluster);
  try {
    await ready(cluster);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

const START_ATTEMPTS = 3;

/**
 * Starts `count` members at the same time on fresh loopback ports (`portsPerMember` each; every
 * member learns all ports up front). When a port was taken between the probe and the bind, all
 * members are stopped and the cluster starts again on new ports.
 */
export async function startMembers<M extends ServiceHandle>(
  count: number,
  portsPerMember: number,
  start: (index: number, ports: readonly number[][]) => Promise<M>,
): Promise<M[]> {
  for (let attempt = 1; ; attempt++) {
    const flat = await freePorts(count * portsPerMember);
    const ports = Array.from({ length: count }, (_, i) =>
      flat.slice(i * portsPerMember, (i + 1) * portsPerMember),
    );
    const results = await Promise.allSettled(ports.map((_, i) => start(i, ports)));
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failure) return started;
    await Promise.allSettled(started.map((member) => member.stop()));
    if (!(failure.reason instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw failure.reason;
  }
}

/** Validates a member count: a positive integer. */
export function checkCount(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`${name} must be an integer >= ${minimum}; got ${value}`);
  }
  return value;
}
