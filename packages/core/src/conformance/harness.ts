// The suite's frame: its options and fault hooks, what every case file gets (SuiteContext), and one
// test's world (Scope: a fresh namespace, instances and raw backends, all closed when it ends).
import { createDiscovery } from '../discovery.js';
import type { BackendCapabilities, DiscoveryBackend } from '../spi/discovery-backend.js';
import type { DiscoveryOptions } from '../types/discovery-options.js';
import type { NodeDiscovery } from '../types/node-discovery.js';
import type { WatchOptions } from '../types/watch-options.js';
import type { OwnerProcess, OwnerProcessContext } from './owner-process.js';
import { Recorder } from './recorder.js';
import { captureLogger, freshNamespace } from './test-kit.js';

/** Fault injection the suite uses when given (a `@roster/test-services` handle fits). */
export interface ConformanceFaults {
  /** Stops and starts the server (data kept where the backend persists it). */
  restart(): Promise<void>;
  /** Freezes the server for `ms` (SIGSTOP/SIGCONT); resolves after it resumes. */
  pause(ms: number): Promise<void>;
  /**
   * Clustered servers only. Kills the member that leads `namespace`'s data (the raft leader, the
   * stream's leader, the primary or the master of its slot) and resolves once another member leads
   * and serves and the killed one is back in the cluster. When given, the failover cases run.
   */
  failover?(context: ClusterFaultContext): Promise<void>;
  /**
   * Clustered servers only. Freezes ONE member (SIGSTOP; the leader is the hardest choice) for `ms`
   * while the others keep serving, and resolves after it resumes. When given, the isolation
   * cases run (with `ms` longer than their ttl: an owner stuck on the frozen member loses its nodes).
   */
  isolate?(ms: number, context: ClusterFaultContext): Promise<void>;
  /**
   * The ttl (ms) the failover and isolation cases run with. It must outlast the topology's
   * leaderless window plus one request timeout: an owner that keeps heartbeating then never expires
   * (rule 4 of docs/guarantees.md), and the cases check exactly that. Default 10_000 (the default
   * ttl of `createDiscovery`).
   */
  failoverTtl?: number;
}

/** What a clustered fault hook is told: the namespace of the case, to find the member leading its data. */
export interface ClusterFaultContext {
  readonly namespace: string;
}

/** Options of `describeConformance`. */
export interface ConformanceOptions {
  /** Shown in the report: `conformance: <name>`. */
  name: string;
  /** A new, unopened backend on `namespace` (called many times: each is one "process"). */
  createBackend: (context: { namespace: string }) => DiscoveryBackend;
  /** When given, the fault cases (restart, pause beyond ttl) run. */
  faults?: ConformanceFaults;
  /** The TTL the suite runs with, in ms. Default 1_000 (the minimum). */
  ttl?: number;
  /**
   * The backend's request timeout in ms (rule 14 of docs/guarantees.md): every call that waits on
   * a frozen server settles within it. Default 5_000, the shipped backends' default.
   */
  requestTimeout?: number;
  /**
   * When given, the SIGKILL case runs: start a separate process that registers `id` on `namespace`
   * with `ttl` through `createDiscovery` and this backend, keeps it alive as an owner does, and
   * resolves once `register()` resolved. `spawnOwnerProcess` starts a script that prints a line then.
   */
  ownerProcess?: (context: OwnerProcessContext) => Promise<OwnerProcess>;
}

/** How long a case's cleanup (closing what it opened) may take. */
const CLEANUP_LIMIT = 60_000;

// Recording and waiting have their own files, re-exported here for the cases that import them
// from here; the suite's logger is the test kit's (one for the suite and for backend tests).
export { Recorder, type Seen, wellFormedProblem } from './recorder.js';
export { PROPAGATION_BOUND, settlesWithin, sleepUntil, WAIT_LIMIT, waitFor } from './waiting.js';
export { captureLogger };

/**
 * One test's world: a fresh namespace, instances opened on it (each with its own backend, like
 * separate processes), and raw backends for checks that do not go through core. Everything is
 * closed when the test finishes.
 */
export class Scope {
  readonly namespace: string;
  private readonly cleanups: (() => Promise<unknown>)[] = [];

  constructor(
    readonly suite: SuiteContext,
    private readonly onFinished: OnTestFinished,
    namespace = freshNamespace('cf'),
  ) {
    this.namespace = namespace;
    // The test's own hook (from its context): with concurrent cases a global one may belong to another.
    // Its own timeout too: each close may wait out a request timeout after a fault case.
    onFinished(async () => {
      for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => {});
    }, CLEANUP_LIMIT);
  }

  /**
   * A new instance on this scope's namespace. `wrap` puts one of the suite's backend wrappers
   * (slow list, slow feed, failing watch) between core and the backend.
   */
  async open(
    options: Partial<Omit<DiscoveryOptions, 'backend'>> = {},
    wrap?: (backend: DiscoveryBackend) => DiscoveryBackend,
  ): Promise<NodeDiscovery> {
    const backend = this.suite.options.createBackend({ namespace: this.namespace });
    const discovery = await createDiscovery({
      backend: wrap ? wrap(backend) : backend,
      ttl: this.suite.ttl,
      ...options,
    });
    this.cleanups.push(() => discovery.close({ unregister: false }));
    return discovery;
  }

  /** Runs `fn` when the test finishes (before the instances are closed). */
  defer(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /** An opened backend on this namespace, used to check stored state independently of core. */
  async raw(options: { ttl?: number; namespace?: string } = {}): Promise<DiscoveryBackend> {
    const backend = this.suite.options.createBackend({ namespace: options.namespace ?? this.namespace });
    await backend.open({ ttl: options.ttl ?? this.suite.ttl, logger: captureLogger() });
    this.cleanups.push(() => backend.close());
    return backend;
  }

  record(discovery: NodeDiscovery, options: WatchOptions = {}): Recorder {
    const recorder = new Recorder(discovery, options);
    this.cleanups.push(async () => recorder.stop());
    return recorder;
  }

  /** A scope on another namespace that shares this one's cleanup. */
  sibling(): Scope {
    return new Scope(this.suite, this.onFinished);
  }
}

/** What every case file gets. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  readonly ttl: number;
  /** Rule 4: left `expired` no later than ttl + this after the last heartbeat. */
  readonly expiryGrace: number;
  /** How long a case waits for an expiry before giving up: well past the bound it then asserts. */
  readonly expiryWait: number;
  /** Rule 14: calls waiting on a frozen server settle within this (`ConformanceOptions.requestTimeout`). */
  readonly requestTimeout: number;
  /**
   * vitest's timeout for a case that runs at `ttl` (default: the suite's): a backstop well past
   * the sum of its own deadlines, so a case fails on a named wait, not on vitest's clock, and a
   * correct backend passes under vitest's default `testTimeout`.
   */
  caseTimeout(ttl?: number): number;
  /** Capabilities read from an opened backend before the first case. */
  readonly supports: () => BackendCapabilities;
  scope(onTestFinished: OnTestFinished): Scope;
}

/** The `onTestFinished` of a test's context. */
export type OnTestFinished = (fn: () => Promise<void> | void, timeout?: number) => void;

/** Rule 4's bound for `ttl`: `left` expired no later than ttl + this after the last heartbeat. */
export function expiryGraceFor(ttl: number): number {
  return Math.max(1_000, ttl / 4);
}
