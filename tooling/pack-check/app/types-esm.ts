// Compiled with tsc --noEmit under node16 and bundler resolution: the published types resolve.

import { runCli } from '@roster/cli';
import { createDiscovery, type DiscoveryBackend, type NodeChangeEvent, type NodeInfo } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { BackendLifecycle, backendErrorMapper, numberOption, withDeadline } from '@roster/core/spi';
import { etcdBackend } from '@roster/etcd';
import { memoryBackend } from '@roster/memory';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';

const backends: DiscoveryBackend[] = [
  memoryBackend(),
  natsBackend({ servers: 'nats://127.0.0.1:4222' }),
  redisBackend({ url: 'redis://127.0.0.1:6379' }),
  etcdBackend({ hosts: 'http://127.0.0.1:2379' }),
];
export async function use(): Promise<NodeInfo[]> {
  const discovery = await createDiscovery({ backend: backends[0]!, ttl: 1_000 });
  const first: NodeChangeEvent | undefined = undefined;
  void first;
  void runCli;
  void describeConformance;
  void [BackendLifecycle, backendErrorMapper, numberOption, withDeadline];
  return discovery.list();
}
