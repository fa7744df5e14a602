import { rmSync } from 'node:fs';
import { createDiscovery, type NodeChangeEvent, type NodeDiscovery } from '@roster/core';
import { redisBackend } from '@roster/redis';
import { startRedis, stopAllServices } from '@roster/test-services';
import { walljumpServerDir } from '../../../packages/redis/test/fixtures/walljump.js';

const step = Number(process.argv[2] ?? 9_000);
const ttl = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A redis-server whose wall clock can be stepped (walljump.c).
const clock = walljumpServerDir();
const { dir } = clock;
const server = await startRedis({ searchPath: [dir] });

const namespace = 'clockstep';
const clockLog = (message: string) => {
  if (message.includes('clock')) console.log(`warn: ${message}`);
};
const logger = { debug() {}, info() {}, warn: clockLog, error: clockLog };
const open = () => createDiscovery({ backend: redisBackend({ url: server.url, namespace }), ttl, logger });
const owners: NodeDiscovery[] = [];
for (let o = 0; o < 3; o += 1) {
  const owner = await open();
  owners.push(owner);
  for (let n = 0; n < 2; n += 1) await owner.register({ id: `n${o}-${n}`, load: n });
}
const seen: { at: number; event: NodeChangeEvent }[] = [];
const abort = new AbortController();
const watchers: NodeDiscovery[] = [];
for (let w = 0; w < 3; w += 1) {
  const watcher = await open();
  watchers.push(watcher);
  void (async () => {
    for await (const event of watcher.watch({ signal: abort.signal, includeExisting: false }))
      seen.push({ at: Date.now(), event });
  })();
}
await sleep(2 * ttl);
const before = seen.filter((s) => s.event.type === 'left').length;
const steppedAt = Date.now();
clock.step(step);
console.log(`server wall clock stepped by ${step} ms`);
await sleep(3 * ttl);
const left = seen.filter((s) => s.event.type === 'left' && s.at >= steppedAt);
for (const { at, event } of left)
  if (event.type === 'left') console.log(`+${at - steppedAt} ms: left ${event.reason} ${event.node.id}`);
// A crash after the step: its nodes must still expire in time.
const crashedAt = Date.now();
await owners[0]?.close({ unregister: false });
const bound = ttl + Math.max(1_000, ttl / 4);
const deadline = Date.now() + 3 * bound;
const expiredAfter = () =>
  seen
    .filter((s) => s.at >= crashedAt && s.event.type === 'left' && s.event.node.id.startsWith('n0-'))
    .map((s) => s.at - crashedAt);
while (expiredAfter().length < 6 && Date.now() < deadline) await sleep(50);
const late = expiredAfter();
console.log(
  `the crashed owner's nodes left ${late.join(', ')} ms after the crash (bound ${bound} ms + a heartbeat interval)`,
);
abort.abort();
await Promise.all([...owners.slice(1), ...watchers].map((d) => d.close()));
await stopAllServices();
rmSync(dir, { recursive: true, force: true });
if (before > 0) console.log(`(${before} left events before the step)`);
const slow = late.length < 6 || late.some((ms) => ms > bound + ttl / 3 + 200);
console.log(left.length === 0 ? (slow ? 'LATE' : 'OK') : `LOST ${left.length}`);
process.exit(left.length === 0 && !slow ? 0 : 1);
