import { Kvm, KvWatchInclude } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { natsBackend } from '@roster/nats';
import { startNats } from '@roster/test-services';
import type { BenchAdapter } from '../adapter.js';

/** Records bucket of a Roster namespace (see the key layout in packages/nats/README.md). */
const bucket = (namespace: string) => `roster_${namespace}`;

/**
 * A nats-server started by @roster/test-services (or `ROSTER_NATS_URL`); raw client @nats-io/kv.
 * Idle cost from the monitoring port (`/varz`), which a server we start always has.
 */
export async function natsAdapter(): Promise<BenchAdapter> {
  const server = await startNats();
  const nc = await connect({ servers: server.url });
  const version = nc.info?.version ?? 'unknown';
  const kvm = new Kvm(nc);
  const monitor = server.monitorUrl;
  return {
    name: 'nats',
    title: 'NATS',
    server: `nats-server ${version} (${server.source}), loopback`,
    backend: (namespace) => natsBackend({ servers: server.url, namespace }),
    raw: {
      client: 'raw @nats-io/kv',
      writeLabel: 'kv.put',
      async writer(namespace, ttl) {
        const kv = await kvm.create(`raw_${namespace}`, { ttl, history: 5 });
        return {
          async write(key, value) {
            await kv.put(key, value);
          },
          async close() {},
        };
      },
      contextWriters: [
        {
          // What each Roster instance pays on NATS: it watches its namespace and sees every put.
          label: 'kv.put with a kv.watch decoding every change in the same process',
          async writer(namespace, ttl) {
            const kv = await kvm.create(`raw_${namespace}`, { ttl, history: 5 });
            const iterator = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
            const decoder = new TextDecoder();
            const reading = (async () => {
              for await (const entry of iterator)
                if (entry.operation === 'PUT') JSON.parse(decoder.decode(entry.value));
            })();
            return {
              async write(key, value) {
                await kv.put(key, value);
              },
              async close() {
                iterator.stop();
                await reading;
              },
            };
          },
        },
      ],
      feedLabel: 'kv.put → kv.watch on another connection',
      async feed(namespace) {
        const name = `raw_${namespace}`;
        const kv = await kvm.create(name, { ttl: 60_000, history: 5 });
        const other = await connect({ servers: server.url });
        const watched = await new Kvm(other).open(name);
        const iterator = await watched.watch();
        const listeners: ((key: string) => void)[] = [];
        const reading = (async () => {
          for await (const entry of iterator)
            if (entry.operation === 'PUT') for (const listener of listeners) listener(entry.key);
        })();
        return {
          async put(key, value) {
            await kv.put(key, value);
          },
          onPut: (listener) => listeners.push(listener),
          async close() {
            iterator.stop();
            await reading;
            await other.close();
          },
        };
      },
      listLabel: 'new connection, kv.watch of the bucket + JSON.parse',
      async listParse(namespace, expected) {
        const fresh = await connect({ servers: server.url });
        try {
          const kv = await new Kvm(fresh).open(bucket(namespace));
          const iterator = await kv.watch();
          const decoder = new TextDecoder();
          const keys = new Set<string>();
          // A KV watch has no end of the initial values: stop at the count, or after a silent second.
          let timer: NodeJS.Timeout | undefined;
          const quiet = () => {
            clearTimeout(timer);
            timer = setTimeout(() => iterator.stop(), 1_000);
          };
          quiet();
          for await (const entry of iterator) {
            quiet();
            if (entry.operation === 'PUT' && JSON.parse(decoder.decode(entry.value))) keys.add(entry.key);
            if (keys.size === expected) break;
          }
          clearTimeout(timer);
          iterator.stop();
          return keys.size;
        } finally {
          await fresh.close();
        }
      },
    },
    counters: monitor
      ? {
          source: 'monitoring port /varz',
          async read() {
            const varz = (await (await fetch(`${monitor}/varz`)).json()) as Record<string, number>;
            return {
              'messages in': varz.in_msgs ?? 0,
              'messages out': varz.out_msgs ?? 0,
              'bytes in': varz.in_bytes ?? 0,
              'bytes out': varz.out_bytes ?? 0,
            };
          },
        }
      : undefined,
    targets: { heartbeatRatio: 0.9 },
    async close() {
      await nc.close();
      await server.stop();
    },
  };
}
