import type { DiscoveryBackend } from '@roster/core';

/**
 * What the harness needs to benchmark one backend: a backend factory, the raw-client baseline it
 * is compared with, and (optionally) the server's own counters for the idle cost. The built-in
 * backends have one each in `src/adapters/`; a custom backend passes its own with
 * `pnpm bench --adapter ./my-adapter.ts` (see docs/benchmarks.md).
 */
export interface BenchAdapter {
  /** Short lowercase name; the docs section is `<!-- bench:<name> -->`. */
  readonly name: string;
  /** Section heading, e.g. `Redis`. */
  readonly title: string;
  /** What ran, for the line under the heading, e.g. `Redis 7.0.15 (binary), loopback`. */
  readonly server: string;
  /** A new backend (its own connection) for `namespace`. */
  backend(namespace: string): DiscoveryBackend;
  /** The raw client the figures are compared with. */
  readonly raw: RawBaseline;
  /** Server-side counters read before and after the idle window; absent when the server has none. */
  readonly counters?: ServerCounters;
  /** Targets of issue 11 that are specific to this backend. */
  readonly targets?: BackendTargets;
  /** Stops what the adapter started (the server). */
  close(): Promise<void>;
}

/** The raw-client side of each measure. Every method opens its own connection(s). */
export interface RawBaseline {
  /** Table column heading, e.g. `raw ioredis`. */
  readonly client: string;
  /** What one raw heartbeat-equivalent write is, e.g. `SET key record PX ttl`. */
  readonly writeLabel: string;
  /** A writer for the heartbeat baseline: `write` stores `value` under `key` in a raw namespace. */
  writer(namespace: string, ttl: number): Promise<RawWriter>;
  /**
   * Further raw writes shown as context beside the heartbeat ratio (not judged), e.g. a
   * compare-and-set write or a lease keep-alive. Measured in the same alternating rounds.
   */
  readonly contextWriters?: readonly ContextWriter[];
  /** What the propagation baseline is, e.g. `XADD → XREAD on another connection`. */
  readonly feedLabel: string;
  /** A raw put on one connection and a raw watch on another, for the propagation baseline. */
  feed(namespace: string): Promise<RawFeed>;
  /**
   * Reads every record Roster stored in namespace `namespace` over a new connection and parses
   * each as JSON; resolves how many it parsed. `expected` lets a feed-style list (NATS KV) stop;
   * `ttl` is the namespace's (a baseline that opens a backend must open it with the same ttl).
   */
  listParse(namespace: string, expected: number, ttl: number): Promise<number>;
  /** What the list baseline is, e.g. `HGETALL + JSON.parse`. */
  readonly listLabel: string;
  /** Raw expiry notification, when the store has one (etcd lease → delete event). */
  readonly expiry?: RawExpiry;
}

export interface RawWriter {
  write(key: string, value: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ContextWriter {
  readonly label: string;
  /** `write` gets the key of one of the concurrent workers and a record of the usual size. */
  writer(namespace: string, ttl: number): Promise<RawWriter>;
}

export interface RawFeed {
  /** Resolves once the put is acknowledged. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Called with the key of each put the watching connection receives. */
  onPut(listener: (key: string) => void): void;
  close(): Promise<void>;
}

export interface RawExpiry {
  readonly label: string;
  /** Stores `key` with a TTL of `ttl` ms; `onExpired` is called when the store reports it gone. */
  open(
    namespace: string,
    ttl: number,
    onExpired: (key: string) => void,
  ): Promise<{ write(key: string): Promise<void>; close(): Promise<void> }>;
}

/** Server-wide counters (monotonic), read before and after a window; the harness reports deltas. */
export interface ServerCounters {
  /** Where they come from, e.g. `INFO commandstats`. */
  readonly source: string;
  /** Counter name → value. Names become table rows (`<name> per node per s`). */
  read(): Promise<Record<string, number>>;
}

export interface BackendTargets {
  /** Roster heartbeats/s ÷ raw writes/s must be at least this. */
  readonly heartbeatRatio?: number;
  /** Idle-cost targets, each on one server counter. */
  readonly idle?: readonly IdleTarget[];
}

export interface IdleTarget {
  /** The counter judged (a key of `ServerCounters.read()`). */
  readonly counter: string;
  /** Per node per second, at every instance count. */
  readonly maxPerNodePerSecond?: number;
  /** The largest instance count's figure ÷ the smallest's. */
  readonly maxGrowth?: number;
}

/** What a custom adapter module default-exports: a function the harness calls once. */
export type BenchAdapterFactory = (options: { quick: boolean }) => Promise<BenchAdapter>;

/**
 * The least a custom adapter gives: a name and a backend factory. Without `raw`, the baseline is
 * the backend's own SPI without core (see `spiBaseline`); without `close`, nothing is stopped.
 *
 * @example
 * ```ts
 * // my-adapter.ts — pnpm bench --adapter ./my-adapter.ts
 * import { sqliteBackend } from './src/sqlite-backend.js';
 * export default async () => ({ name: 'sqlite', backend: (namespace: string) => sqliteBackend({ path: 'bench.db', namespace }) });
 * ```
 */
export type CustomBenchAdapter = Pick<BenchAdapter, 'name' | 'backend'> & Partial<BenchAdapter>;
