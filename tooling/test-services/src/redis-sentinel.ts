// Redis with Sentinel for tests: a primary, its replicas and three sentinels, each its own
// redis-server process; the handle's health check and failover.
import { readFileSync, writeFileSync } from 'node:fs';
import { BinaryServiceHandle } from './binary-service.js';
import {
  type ClusterHandle,
  checkCount,
  DEFAULT_STARTUP_TIMEOUT_MS,
  type FailoverReport,
  PROBE_TIMEOUT_MS,
  pick,
  readyOrStopped,
  startMembers,
} from './cluster-handle.js';
import { DURABLE_DATA_NODE, redisServerBinary, startRedisMember } from './redis-member.js';
import { agreed, fields, primariesNamed } from './redis-sentinel-queries.js';
import { addressOf, RedisTopology, sameAddress } from './redis-topology.js';
import { type RedisAddress, redisCommand, redisInfo } from './resp.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';

/** Options for {@link startRedisSentinel}. */
export interface RedisSentinelStartOptions extends CommonStartOptions {
  /** The monitored primary's name (`sentinel monitor <name> …`). Default `roster`. */
  name?: string;
  /** How many replicas besides the primary. Default 1. */
  replicas?: number;
  /**
   * `sentinel down-after-milliseconds`: how long the primary may be silent before a failover.
   * Default 2000: at 1000, a freshly promoted primary that went silent for about a second while the
   * killed node rejoined it was failed over again, back to the node just restarted (seen in CI on
   * 30 November: `+sdown` of the new primary 1.1 s after `+switch-master`, `-sdown` 80 ms later).
   */
  downAfterMs?: number;
  /** `sentinel failover-timeout`. Default 3000 (a failed attempt is retried after twice that). */
  failoverTimeoutMs?: number;
}

/** A primary, its replicas and three sentinels watching them (quorum 2). */
export interface RedisSentinelHandle extends ClusterHandle {
  readonly kind: 'redis';
  /** The primary's name as the sentinels know it: pass it with `sentinels` to a client. */
  readonly name: string;
  /** Where the sentinels listen. */
  readonly sentinels: readonly RedisAddress[];
  /** The data nodes (`member(i)`): 0 starts as the primary, the others as its replicas. */
  readonly nodes: readonly RedisAddress[];
  /** Sentinel `i`, to stop or freeze it. */
  sentinel(i: number): ServiceHandle;
  /** The primary the sentinels name (`SENTINEL get-master-addr-by-name`), with its member index. */
  primary(): Promise<RedisAddress & { index: number | undefined }>;
  /**
   * Kills the primary, waits until the sentinels have promoted a replica (the sentinels name it
   * and it reports `role:master`), restarts the old primary as a replica of the new one, and
   * waits until the topology is healthy again.
   */
  failover(): Promise<FailoverReport>;
}

const SENTINELS = 3;
const QUORUM = 2;

/**
 * Replaces the `replicaof` line of a data node's config file. A restarted node must come back as
 * a replica of the current primary: coming back as a primary (with its old, possibly stale data)
 * would take writes until the sentinels demote it, and those writes would then be lost.
 */
function pointConfigAt(configFile: string, primary: RedisAddress | undefined): void {
  const kept = readFileSync(configFile, 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(replicaof|slaveof)\s/i.test(line));
  if (primary) kept.push(`replicaof ${primary.host} ${primary.port}`);
  writeFileSync(configFile, `${kept.join('\n').trimEnd()}\n`);
}

class RedisSentinelTopology extends RedisTopology implements RedisSentinelHandle {
  readonly sentinels: readonly RedisAddress[];

  constructor(
    nodes: ServiceHandle[],
    readonly sentinelHandles: ServiceHandle[],
    readonly name: string,
    startupTimeoutMs: number,
  ) {
    super(nodes, sentinelHandles, startupTimeoutMs, 'the Redis sentinel topology');
    this.sentinels = sentinelHandles.map(addressOf);
  }

  sentinel(i: number): ServiceHandle {
    return pick(this.sentinelHandles, i, 'sentinel');
  }

  async primary(): Promise<RedisAddress & { index: number | undefined }> {
    const named = await primariesNamed(this.sentinels, this.name);
    const address = agreed(named, 1);
    if (!address) throw new Error(`no sentinel answered for ${this.name}`);
    const index = this.nodes.findIndex((node) => sameAddress(node, address));
    return { ...address, index: index < 0 ? undefined : index };
  }

  /**
   * Healthy: every sentinel names the same primary, sees it up, knows the other sentinels, and
   * sees every replica up; the primary says `role:master` and every replica has its link up.
   */
  protected async healthProblem(): Promise<string | undefined> {
    const named = await primariesNamed(this.sentinels, this.name);
    const primary = agreed(named, this.sentinels.length);
    if (!primary) return `sentinels do not all name one primary: ${JSON.stringify(named)}`;
    const options = { timeoutMs: PROBE_TIMEOUT_MS };
    for (const [i, sentinel] of this.sentinels.entries()) {
      const master = fields(await redisCommand(sentinel, ['SENTINEL', 'MASTER', this.name], options));
      if (master.get('flags') !== 'master') return `sentinel ${i} flags the primary ${master.get('flags')}`;
      if (Number(master.get('num-other-sentinels')) < this.sentinels.length - 1) {
        return `sentinel ${i} knows ${master.get('num-other-sentinels')} other sentinels`;
      }
      const replicas = await redisCommand(sentinel, ['SENTINEL', 'REPLICAS', this.name], options);
      const up = (Array.isArray(replicas) ? replicas : [])
        .map(fields)
        .filter((r) => r.get('flags') === 'slave');
      if (up.length < this.nodes.length - 1) return `sentinel ${i} sees ${up.length} replicas up`;
    }
    for (const [i, node] of this.nodes.entries()) {
      const replication = await redisInfo(node, 'replication', options);
      if (sameAddress(node, primary)) {
        if (replication.get('role') !== 'master')
          return `node ${i} is named primary but is ${replication.get('role')}`;
      } else if (
        replication.get('role') !== 'slave' ||
        replication.get('master_link_status') !== 'up' ||
        Number(replication.get('master_port')) !== primary.port
      ) {
        return `node ${i} is not a linked replica of ${primary.port}`;
      }
    }
    return undefined;
  }

  /** The failover-related lines of every sentinel's log (`+sdown`, `+odown`, `+switch-master`, …). */
  #sentinelEvents(): string {
    const events =
      /[+-](sdown|odown|try-failover|elected-leader|failover|selected-slave|promoted-slave|switch-master|convert-to-slave|reboot|new-epoch|vote-for-leader)/;
    return this.sentinelHandles
      .map((handle, i) => {
        const log = handle instanceof BinaryServiceHandle ? handle.logTail() : '';
        const lines = log.split('\n').filter((line) => events.test(line));
        return `sentinel ${i}:\n${lines.slice(-25).join('\n')}`;
      })
      .join('\n');
  }

  async failover(): Promise<FailoverReport> {
    const before = await this.primary();
    const killed = before.index ?? 0;
    // The restart's beforeStart points the killed node at the new primary.
    const report = await this.killAndRecover(
      killed,
      `the sentinels to promote a replica after killing node ${killed}`,
      async () => {
        const named = agreed(await primariesNamed(this.sentinels, this.name), QUORUM);
        if (!named || sameAddress(named, before)) return undefined;
        const index = this.nodes.findIndex((node) => sameAddress(node, named));
        if (index < 0) return undefined;
        const role = await redisInfo(named, 'replication', { timeoutMs: PROBE_TIMEOUT_MS }).then(
          (info) => info.get('role'),
          () => undefined,
        );
        return role === 'master' ? index : undefined;
      },
    );
    const { elected } = report;
    const after = await this.primary();
    if (after.index !== elected) {
      // The sentinels moved the primary again while the killed node came back (see downAfterMs).
      // Say what they did rather than report a failover that did not hold.
      throw new Error(
        `the sentinels elected node ${elected} after killing node ${killed}, but name node ${after.index} once healthy again; their failover events:\n${this.#sentinelEvents()}`,
      );
    }
    return report;
  }
}

/**
 * Redis with Sentinel for one test run: a primary (member 0), `replicas` replicas (default 1) and
 * three sentinels (quorum 2), each its own `redis-server` process and temp dir on loopback. Data
 * nodes run with `appendonly yes`/`appendfsync always` so a killed node restarts with its data.
 * Resolves once the sentinels agree on the primary and know each other and the replicas.
 *
 * @example
 * ```ts
 * const redis = await startRedisSentinel();
 * const client = new Redis({ sentinels: redis.sentinels, name: redis.name });
 * await redis.failover();
 * ```
 */
export async function startRedisSentinel(
  options: RedisSentinelStartOptions = {},
): Promise<RedisSentinelHandle> {
  const name = options.name ?? 'roster';
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RangeError(`name must match [A-Za-z0-9_.-]+; got "${name}"`);
  const replicas = checkCount('replicas', options.replicas ?? 1, 1);
  const downAfterMs = checkCount('downAfterMs', options.downAfterMs ?? 2_000, 100);
  const failoverTimeoutMs = checkCount('failoverTimeoutMs', options.failoverTimeoutMs ?? 3_000, 500);
  const binary = redisServerBinary(options.searchPath);
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  let sentinelAddresses: RedisAddress[] = [];

  const nodes = await startMembers(1 + replicas, 1, (i, all) => {
    const port = all[i]?.[0] as number;
    const primaryPort = all[0]?.[0] as number;
    return startRedisMember<number>({
      name: `redis-node-${i}`,
      binary,
      port,
      ports: port,
      allPorts: [port],
      configName: 'redis.conf',
      config: (_tempDir, dataDir) => [
        `dir ${dataDir}`,
        ...DURABLE_DATA_NODE,
        ...(i === 0 ? [] : [`replicaof 127.0.0.1 ${primaryPort}`]),
      ],
      beforeStart: async (configFile) => {
        // On a restart: follow whichever other node the sentinels name now.
        const named = await primariesNamed(sentinelAddresses, name);
        const other = named.find((a) => a.port !== port);
        if (other) pointConfigAt(configFile, other);
      },
      startupTimeoutMs,
    });
  });
  const primaryPort = nodes[0]?.ports as number;

  let sentinels: BinaryServiceHandle<number>[];
  try {
    sentinels = await startMembers(SENTINELS, 1, (i, all) => {
      const port = all[i]?.[0] as number;
      return startRedisMember<number>({
        name: `redis-sentinel-${i}`,
        binary,
        port,
        ports: port,
        allPorts: [port],
        // Sentinel rewrites its config file (known replicas, sentinels, epochs): it must be writable.
        configName: 'sentinel.conf',
        config: (tempDir) => [
          `dir ${tempDir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${QUORUM}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`,
        ],
        args: ['--sentinel'],
        startupTimeoutMs,
      });
    });
  } catch (error) {
    await Promise.allSettled(nodes.map((node) => node.stop()));
    throw error;
  }
  sentinelAddresses = sentinels.map(addressOf);
  return readyOrStopped(new RedisSentinelTopology(nodes, sentinels, name, startupTimeoutMs));
}
