import { redisBackend } from '@roster/redis';
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import type { BenchAdapter } from '../adapter.js';

/** Records hash of a Roster namespace: id → `<revision>\n<record JSON>` (packages/redis/README.md). */
const recordsKey = (namespace: string) => `{roster:${namespace}}:records`;

/** Total calls in `INFO commandstats`, less the INFO calls the bench itself makes. */
export function commandCalls(info: string): number {
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (match[1] !== 'info') total += Number(match[2]);
  return total;
}

/** A redis-server started by @roster/test-services (or `ROSTER_REDIS_URL`); raw client ioredis. */
export async function redisAdapter(): Promise<BenchAdapter> {
  const server = await startRedis();
  const url = server.url;
  const admin = new Redis(url);
  const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
  return {
    name: 'redis',
    title: 'Redis',
    server: `Redis ${version} (${server.source}), loopback`,
    backend: (namespace) => redisBackend({ url, namespace }),
    raw: {
      client: 'raw ioredis',
      writeLabel: 'SET key record PX ttl',
      async writer(namespace, ttl) {
        const client = new Redis(url);
        return {
          async write(key, value) {
            await client.set(`raw:${namespace}:${key}`, Buffer.from(value), 'PX', ttl);
          },
          async close() {
            client.disconnect();
          },
        };
      },
      contextWriters: [
        {
          // A record write that watchers can follow: store it and append it to a stream, one round trip.
          label: 'HSET + XADD pipelined',
          async writer(namespace) {
            const client = new Redis(url);
            return {
              async write(key, value) {
                const bytes = Buffer.from(value);
                await client
                  .pipeline()
                  .hset(`raw:${namespace}:records`, key, bytes)
                  .xadd(`raw:${namespace}:changes`, 'MAXLEN', '~', 10_000, '*', 'k', key, 'v', bytes)
                  .exec();
              },
              async close() {
                client.disconnect();
              },
            };
          },
        },
      ],
      feedLabel: 'XADD → XREAD BLOCK on another connection',
      async feed(namespace) {
        const stream = `raw:${namespace}:changes`;
        const writer = new Redis(url);
        const reader = new Redis(url);
        const listeners: ((key: string) => void)[] = [];
        let stopped = false;
        const reading = (async () => {
          let last = '$';
          while (!stopped) {
            const reply = await reader
              .xread('BLOCK', 1_000, 'STREAMS', stream, last)
              .catch((error: unknown) => (stopped ? null : Promise.reject(error)));
            for (const [, entries] of reply ?? [])
              for (const [id, fields] of entries) {
                last = id;
                for (const listener of listeners) listener(fields[1] as string);
              }
          }
        })();
        // XREAD from `$` must be blocking before the first XADD, or it misses it.
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {
          async put(key, value) {
            await writer.xadd(stream, 'MAXLEN', '~', 10_000, '*', 'k', key, 'v', Buffer.from(value));
          },
          onPut: (listener) => listeners.push(listener),
          async close() {
            stopped = true;
            reader.disconnect();
            await reading;
            writer.disconnect();
          },
        };
      },
      listLabel: 'new connection, HGETALL + JSON.parse',
      async listParse(namespace) {
        const client = new Redis(url);
        try {
          const records = await client.hgetallBuffer(recordsKey(namespace));
          let parsed = 0;
          for (const stored of Object.values(records))
            if (JSON.parse(stored.subarray(stored.indexOf(0x0a) + 1).toString())) parsed++;
          return parsed;
        } finally {
          client.disconnect();
        }
      },
      expiry: {
        label: 'SET PX → keyspace notification',
        async open(namespace, ttl, onExpired) {
          // Restored on close: a server given through ROSTER_REDIS_URL may have its own setting.
          const [, previous = ''] = (await admin.config('GET', 'notify-keyspace-events')) as string[];
          await admin.config('SET', 'notify-keyspace-events', 'Ex');
          const subscriber = new Redis(url);
          const writer = new Redis(url);
          const prefix = `raw:${namespace}:`;
          subscriber.on('message', (_channel: string, key: string) => {
            if (key.startsWith(prefix)) onExpired(key.slice(prefix.length));
          });
          await subscriber.subscribe('__keyevent@0__:expired');
          return {
            async write(key) {
              await writer.set(prefix + key, '1', 'PX', ttl);
            },
            async close() {
              subscriber.disconnect();
              writer.disconnect();
              await admin.config('SET', 'notify-keyspace-events', previous);
            },
          };
        },
      },
    },
    counters: {
      source: 'INFO commandstats',
      read: async () => ({ commands: commandCalls(await admin.info('commandstats')) }),
    },
    targets: { heartbeatRatio: 0.9, idle: [{ counter: 'commands', maxPerNodePerSecond: 2, maxGrowth: 1.2 }] },
    async close() {
      admin.disconnect();
      await server.stop();
    },
  };
}
