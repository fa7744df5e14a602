// Reproduction of the mass expiry of the single-server Redis chaos run in CI (seed 20261130,
// 30 November, docs/reliability.md): `node --import tsx repro/redis-clock-step.ts [step ms]` in
// tooling/chaos (uses the built packages; needs `cc`). Three owners keep two nodes each alive
// (ttl 2 s) while three instances watch; then the Redis server's wall clock steps forward by
// 9 s (default), as an NTP step or a VM resume does, while its monotonic clock and every Roster
// process's clocks run on. Prints `OK` when no watcher saw a live owner's node leave, else
// `LOST n` and exits 1. Before the fix, every node left `expired` at once at every watcher.
// Then one owner crashes: its nodes must still expire within ttl + max(1 s, ttl / 4) (rule 4).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery, type NodeChangeEvent, type NodeDiscovery } from '@roster/core';
import { redisBackend } from '@roster/redis';
import { startRedis, stopAllServices } from '@roster/test-services';

const step = Number(process.argv[2] ?? 9_000);
const ttl = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A redis-server whose wall clock follows the offset written to `offsetFile` (walljump.c).
const dir = mkdtempSync(join(tmpdir(), 'roster-clock-step-'));
const offsetFile = join(dir, 'offset-ms');
writeFileSync(offsetFile, '0');
const library = join(dir, 'walljump.so');
execFileSync('cc', [
  '-shared',
  '-fPIC',
  '-O2',
  '-o',
  library,
  join(import.meta.dirname, '../../../packages/redis/test/fixtures/walljump.c'),
]);
const real = execFileSync('sh', ['-c', 'command -v redis-server || echo /usr/bin/redis-server'])
  .toString()
  .trim();
const shim = join(dir, 'redis-server');
writeFileSync(shim, `#!/bin/sh\nLD_PRELOAD=${library} WALLJUMP_FILE=${offsetFile} exec ${real} "$@"\n`);
chmodSync(shim, 0o755);
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
writeFileSync(offsetFile, String(step));
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
