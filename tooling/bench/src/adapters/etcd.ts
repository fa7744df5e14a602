import { etcdBackend } from '@roster/etcd';
import { startEtcd } from '@roster/test-services';
import { Etcd3, type Lease } from 'etcd3';
import type { BenchAdapter } from '../adapter.js';

/** Sum of `grpc_server_msg_received_total` (every request and stream message, keep-alives too). */
export function grpcMessagesReceived(metrics: string): number | undefined {
  let total: number | undefined;
  for (const match of metrics.matchAll(/^grpc_server_msg_received_total\{[^}]*\}\s+(\S+)/gm))
    total = (total ?? 0) + Number(match[1]);
  return total;
}

/** An etcd started by @roster/test-services (or `ROSTER_ETCD_URL`); raw client etcd3. */
export async function etcdAdapter(): Promise<BenchAdapter> {
  const server = await startEtcd();
  const hosts = server.url;
  const admin = new Etcd3({ hosts });
  const version = (await admin.maintenance.status()).version;
  return {
    name: 'etcd',
    title: 'etcd',
    server: `etcd ${version} (${server.source}), loopback`,
    backend: (namespace) => etcdBackend({ hosts, namespace }),
    raw: {
      client: 'raw etcd3',
      writeLabel: 'put (no lease)',
      async writer(namespace) {
        const client = new Etcd3({ hosts });
        return {
          async write(key, value) {
            await client.put(`raw/${namespace}/${key}`).value(Buffer.from(value));
          },
          async close() {
            client.close();
          },
        };
      },
      contextWriters: [
        {
          label: 'compare-and-set txn (mod revision)',
          async writer(namespace) {
            const client = new Etcd3({ hosts });
            const revisions = new Map<string, string>();
            return {
              async write(key, value) {
                const k = Buffer.from(`raw/${namespace}/cas/${key}`);
                const response = await client.kv.txn({
                  compare: [
                    { key: k, target: 'Mod', result: 'Equal', mod_revision: revisions.get(key) ?? '0' },
                  ],
                  success: [{ request_put: { key: k, value: Buffer.from(value) } }],
                  failure: [],
                });
                if (response.succeeded) revisions.set(key, response.header.revision);
              },
              async close() {
                client.close();
              },
            };
          },
        },
        {
          // What a silent heartbeat is on etcd: renew the node's lease, no revision.
          label: 'lease keep-alive (keepaliveOnce)',
          async writer(_namespace, ttl) {
            const client = new Etcd3({ hosts });
            const leases = new Map<string, Lease>();
            return {
              async write(key) {
                let lease = leases.get(key);
                if (!lease) {
                  lease = client.lease(Math.ceil(ttl / 1000), { autoKeepAlive: false });
                  leases.set(key, lease);
                  await lease.grant();
                }
                await lease.keepaliveOnce();
              },
              async close() {
                await Promise.all([...leases.values()].map((lease) => lease.revoke().catch(() => {})));
                client.close();
              },
            };
          },
        },
      ],
      feedLabel: 'put → watch on another client',
      async feed(namespace) {
        const prefix = `raw/${namespace}/feed/`;
        const writer = new Etcd3({ hosts });
        const reader = new Etcd3({ hosts });
        const watcher = await reader.watch().prefix(prefix).create();
        const listeners: ((key: string) => void)[] = [];
        watcher.on('put', (kv) => {
          const key = kv.key.toString().slice(prefix.length);
          for (const listener of listeners) listener(key);
        });
        return {
          async put(key, value) {
            await writer.put(prefix + key).value(Buffer.from(value));
          },
          onPut: (listener) => listeners.push(listener),
          async close() {
            await watcher.cancel();
            reader.close();
            writer.close();
          },
        };
      },
      listLabel: 'new client, range of the nodes prefix in pages of 5,000 at one revision + JSON.parse',
      async listParse(namespace) {
        // Paged like the backend: one range of 100,000 records (~28 MB) exceeds gRPC's 4 MB limit.
        const client = new Etcd3({ hosts });
        try {
          const prefix = Buffer.from(`roster/${namespace}/nodes/`);
          // The prefix ends in '/': the range ends before '0', the next byte.
          const end = Buffer.from(`roster/${namespace}/nodes0`);
          let start = prefix;
          let revision: string | undefined;
          let parsed = 0;
          for (;;) {
            const page = await client.kv.range({
              key: start,
              range_end: end,
              limit: 5_000,
              ...(revision ? { revision } : {}),
            });
            revision ??= page.header.revision;
            for (const kv of page.kvs) if (JSON.parse(kv.value.toString())) parsed++;
            const last = page.kvs[page.kvs.length - 1];
            if (!page.more || !last) return parsed;
            start = Buffer.concat([last.key, Buffer.from([0])]);
          }
        } finally {
          client.close();
        }
      },
      expiry: {
        label: 'put under a lease → delete event',
        async open(namespace, ttl, onExpired) {
          const prefix = `raw/${namespace}/exp/`;
          const client = new Etcd3({ hosts });
          const watcher = await client.watch().prefix(prefix).create();
          watcher.on('delete', (kv) => onExpired(kv.key.toString().slice(prefix.length)));
          return {
            async write(key) {
              const lease = await client.leaseClient.leaseGrant({ TTL: Math.ceil(ttl / 1000) });
              await client.kv.put({
                key: Buffer.from(prefix + key),
                value: Buffer.from('x'),
                lease: lease.ID,
              });
            },
            async close() {
              await watcher.cancel();
              client.close();
            },
          };
        },
      },
    },
    counters: {
      source: 'header revision; /metrics grpc_server_msg_received_total',
      async read(): Promise<Record<string, number>> {
        const revision = Number((await admin.maintenance.status()).header.revision);
        const metrics = await fetch(`${hosts.replace(/\/$/, '')}/metrics`)
          .then((response) => response.text())
          .catch(() => '');
        const received = grpcMessagesReceived(metrics);
        return received === undefined
          ? { revisions: revision }
          : { revisions: revision, 'gRPC messages': received };
      },
    },
    targets: {
      heartbeatRatio: 1,
      idle: [
        { counter: 'revisions', maxPerNodePerSecond: 0 },
        { counter: 'gRPC messages', maxGrowth: 1.2 },
      ],
    },
    async close() {
      admin.close();
      await server.stop();
    },
  };
}
