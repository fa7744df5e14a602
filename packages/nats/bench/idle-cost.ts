// Idle cost of Roster on NATS (issue 11): N instances, one node each, ttl 3 s, nothing but
// heartbeats. Reads the server's monitoring port (/connz) before and after a window and reports
// what each instance receives (server → client messages and bytes) per node per second, for
// several N, so growth with the instance count shows. `pnpm --filter @roster/nats exec tsx bench/idle-cost.ts`
import { createDiscovery, type NodeDiscovery } from '@roster/core';
import { startNats } from '@roster/test-services';
import { natsBackend } from '../src/index.js';

const TTL = 3_000;
const WINDOW_MS = Number(process.env.IDLE_WINDOW_MS ?? 15_000);
const SIZES = (process.env.IDLE_SIZES ?? '5,10,20').split(',').map(Number);

interface Conn {
  name?: string;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
}

const server = await startNats();
if (!server.monitorUrl) throw new Error('the idle-cost bench needs a server it starts (monitoring port)');

async function connz(): Promise<Map<string, Conn>> {
  const response = await fetch(`${server.monitorUrl}/connz?limit=4096`);
  const body = (await response.json()) as { connections: Conn[] };
  return new Map(body.connections.filter((c) => c.name).map((c) => [c.name as string, c]));
}

const rows: string[] = [];
try {
  for (const size of SIZES) {
    const namespace = `idle_${size}_${Date.now().toString(36)}`;
    const instances: NodeDiscovery[] = [];
    for (let i = 0; i < size; i++) {
      const discovery = await createDiscovery({
        backend: natsBackend({ servers: server.url, namespace, name: `idle-${size}-${i}` }),
        ttl: TTL,
      });
      instances.push(discovery);
      await discovery.register({
        id: `node-${i}`,
        address: `10.0.0.${i}:8080`,
        metadata: { role: 'api', zone: 'eu-1' },
      });
    }
    // Every instance sees every node, then a ttl of steady state before measuring.
    while (instances.some((d) => d.list().length < size)) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, TTL));
    const before = await connz();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const after = await connz();
    const seconds = (Date.now() - started) / 1000;
    let outMsgs = 0;
    let outBytes = 0;
    let inMsgs = 0;
    let inBytes = 0;
    for (let i = 0; i < size; i++) {
      const name = `idle-${size}-${i}`;
      const a = before.get(name);
      const b = after.get(name);
      if (!a || !b) throw new Error(`connection ${name} not in /connz`);
      outMsgs += b.out_msgs - a.out_msgs;
      outBytes += b.out_bytes - a.out_bytes;
      inMsgs += b.in_msgs - a.in_msgs;
      inBytes += b.in_bytes - a.in_bytes;
    }
    // Per instance, per node of the cluster, per second.
    const per = (total: number) => total / size / size / seconds;
    rows.push(
      `| ${size} | ${per(outMsgs).toFixed(2)} | ${per(outBytes).toFixed(0)} | ${(outMsgs / size / seconds).toFixed(1)} | ${(inMsgs / size / seconds).toFixed(2)} | ${(inBytes / size / seconds).toFixed(0)} | ${(outMsgs / seconds).toFixed(0)} |`,
    );
    await Promise.all(instances.map((d) => d.close()));
  }
} finally {
  await server.stop();
}

console.log(
  `nats-server, ttl ${TTL} ms (heartbeat every ~${TTL / 3} ms), one node per instance, ${WINDOW_MS / 1000} s window`,
);
console.log(
  '| instances | msgs received per instance per node per s | bytes received per instance per node per s | msgs received per instance per s | msgs sent per instance per s | bytes sent per instance per s | server msgs out per s (all instances) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
