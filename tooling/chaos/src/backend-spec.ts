// How to reach the store under test, as plain data: the parent hands it to each owner process
// over argv, so owners and watchers build their backends the same way.
import type { DiscoveryBackend } from '@roster/core';
import { etcdBackend } from '@roster/etcd';
import { type MemoryStore, memoryBackend } from '@roster/memory';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';
import { Cluster } from 'ioredis';

export type BackendSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'nats'; readonly servers: readonly string[]; readonly replicas: number }
  | { readonly kind: 'redis'; readonly url: string }
  | {
      readonly kind: 'redis-sentinel';
      readonly sentinels: readonly { host: string; port: number }[];
      readonly name: string;
    }
  | { readonly kind: 'redis-cluster'; readonly nodes: readonly { host: string; port: number }[] }
  | { readonly kind: 'etcd'; readonly hosts: readonly string[] };

/** A backend on `spec`; `close` releases what was made here that the backend does not own (a Cluster client). */
export function makeBackend(
  spec: BackendSpec,
  namespace: string,
  memoryStore?: MemoryStore,
): { backend: DiscoveryBackend; close: () => Promise<void> } {
  const none = async () => {};
  switch (spec.kind) {
    case 'memory':
      if (!memoryStore) throw new Error('the memory backend runs in one process: pass its store');
      return { backend: memoryBackend({ store: memoryStore, namespace }), close: none };
    case 'nats':
      return {
        backend: natsBackend({ servers: [...spec.servers], replicas: spec.replicas, namespace }),
        close: none,
      };
    case 'redis':
      return { backend: redisBackend({ url: spec.url, namespace }), close: none };
    case 'redis-sentinel':
      return {
        backend: redisBackend({
          sentinels: spec.sentinels.map((s) => ({ ...s })),
          name: spec.name,
          namespace,
        }),
        close: none,
      };
    case 'redis-cluster': {
      const client = new Cluster(spec.nodes.map((n) => ({ ...n })));
      return {
        backend: redisBackend({ client, namespace }),
        close: async () => {
          client.disconnect();
        },
      };
    }
    case 'etcd':
      return { backend: etcdBackend({ hosts: [...spec.hosts], namespace }), close: none };
  }
}
