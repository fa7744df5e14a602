// The shared part of the Redis Sentinel and Cluster handles: the data nodes' addresses (the
// health wait, failover cycle and probe timeout are every cluster's, in cluster-handle.ts).
import { ClusterServiceHandle } from './cluster-handle.js';
import type { RedisAddress } from './resp.js';
import type { ServiceHandle } from './service-handle.js';

export const addressOf = (member: ServiceHandle): RedisAddress => {
  const url = new URL(member.url);
  return { host: url.hostname, port: Number(url.port) };
};

export const sameAddress = (a: RedisAddress, b: RedisAddress) => a.host === b.host && a.port === b.port;

export abstract class RedisTopology extends ClusterServiceHandle {
  declare readonly kind: 'redis';
  /** The data nodes, in member order. */
  readonly nodes: readonly RedisAddress[];

  /**
   * `members`: the data nodes; `helpers`: processes that go with them (sentinels); `what`: the
   * topology in the timeout message, e.g. `the Redis Cluster`.
   */
  constructor(members: ServiceHandle[], helpers: ServiceHandle[], startupTimeoutMs: number, what: string) {
    super('redis', members, startupTimeoutMs, what, helpers);
    this.nodes = members.map(addressOf);
  }
}
