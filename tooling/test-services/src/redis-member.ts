// One redis-server process of a Sentinel or Cluster topology: its config file, written into its
// temp dir before the first start, and the readiness check that makes sure the server answering
// on its port is this one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binary-lookup.js';
import { type BinaryServiceHandle, startBinaryMember } from './binary-service.js';
import { PROBE_TIMEOUT_MS } from './cluster-handle.js';
import { REDIS_ENV_VAR, redisIsReady } from './redis.js';
import { type RedisAddress, redisInfo } from './resp.js';

/**
 * A data node that keeps every acknowledged write across kill() and restart(): AOF with
 * `appendfsync always`, no RDB snapshots.
 */
export const DURABLE_DATA_NODE = [
  'save ""',
  'appendonly yes',
  'appendfsync always',
  // Redis 7 waits 5 s before a diskless full sync, for more replicas to join; we have them all.
  'repl-diskless-sync-delay 0',
];

export interface RedisMemberSpec<Ports> {
  /** For messages and the temp dir name, e.g. `redis-node-0`. */
  name: string;
  /** Absolute path of redis-server (see redisServerBinary). */
  binary: string;
  /** The client port. */
  port: number;
  ports: Ports;
  /** Every port the member binds. */
  allPorts: number[];
  /** The config file's name in the temp dir. */
  configName: string;
  /** The config file's lines after `port`, `bind` and `protected-mode`; `dataDir` is in `tempDir`. */
  config(tempDir: string, dataDir: string): string[];
  /** Arguments after the config file, e.g. `--sentinel`. */
  args?: string[];
  /** Runs before every start, the first included, with the config file's path. */
  beforeStart?(configFile: string): Promise<void> | void;
  startupTimeoutMs: number;
}

/** The path of redis-server (see findBinary). */
export function redisServerBinary(searchPath: readonly string[] | undefined): string {
  return findBinary(
    { name: 'redis-server', debianPackage: 'redis-server', envVar: REDIS_ENV_VAR },
    searchPath,
  );
}

/** Starts one member on loopback with its own config file (see startBinaryMember for ports and retries). */
export function startRedisMember<Ports>(spec: RedisMemberSpec<Ports>): Promise<BinaryServiceHandle<Ports>> {
  const { port } = spec;
  let configFile = '';
  return startBinaryMember<Ports>({
    kind: 'redis',
    name: spec.name,
    binary: spec.binary,
    ports: spec.ports,
    allPorts: spec.allPorts,
    prepare: (tempDir, dataDir) => {
      configFile = join(tempDir, spec.configName);
      const lines = [`port ${port}`, 'bind 127.0.0.1', 'protected-mode no', ...spec.config(tempDir, dataDir)];
      writeFileSync(configFile, [...lines, ''].join('\n'));
    },
    ...(spec.beforeStart
      ? { beforeStart: (tempDir: string) => spec.beforeStart?.(join(tempDir, spec.configName)) }
      : {}),
    args: (_ports, _dataDir, tempDir) => [join(tempDir, spec.configName), ...(spec.args ?? [])],
    url: `redis://127.0.0.1:${port}`,
    // Ours, not a stranger that took the probed port (see runsConfigFile).
    isReady: async () =>
      (await runsConfigFile({ host: '127.0.0.1', port }, configFile)) &&
      (await redisIsReady('127.0.0.1', port, undefined)),
    startupTimeoutMs: spec.startupTimeoutMs,
  });
}

/**
 * Whether the Redis answering at `address` is the process we started with `configFile` (INFO
 * server's `config_file`; each member has its own temp dir). A port probed free can be taken by
 * another test file's server before ours binds it, and that stranger answers PING as well; ours
 * then exits with "Address already in use", which the start turns into new ports for every member.
 */
export async function runsConfigFile(address: RedisAddress, configFile: string): Promise<boolean> {
  const info = await redisInfo(address, 'server', { timeoutMs: PROBE_TIMEOUT_MS });
  return info.get('config_file') === configFile;
}
