// Roster on NATS against the raw @nats-io/kv client, in one run against one server.
// `pnpm bench` (or `pnpm bench --backend nats` at the root). ROSTER_NATS_URL uses an existing server.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KV, Kvm, KvWatchInclude } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createDiscovery, decodeRecord, encodeRecord, type NodeDiscovery, type NodeInfo } from '@roster/core';
import { startNats } from '@roster/test-services';
import { natsBackend } from '../src/index.js';

const HEARTBEAT_CONCURRENCY = 32;
const HEARTBEAT_ROUND_MS = 3_000;
const HEARTBEAT_ROUNDS = 3;
const PROPAGATION_SAMPLES = 300;
const PROPAGATION_WARMUP = 30;
const SYNC_NODES = 10_000;
const SYNC_REPEATS = 5;
const EXPIRY_TTL = 1_000;
const EXPIRY_NODES = 40;

const here = dirname(fileURLToPath(import.meta.url));
const docsFile = join(here, '../../../docs/benchmarks.md');

const server = process.env.ROSTER_NATS_URL
  ? { url: process.env.ROSTER_NATS_URL, source: 'env', stop: async () => {} }
  : await startNats();
const nc: NatsConnection = await connect({ servers: server.url });
const version = nc.info?.version ?? 'unknown';
const kvm = new Kvm(nc);
let serial = 0;
const ns = (label: string) => `bench_${label}_${Date.now().toString(36)}_${serial++}`;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
const median = (values: number[]) => quantile(values, 0.5);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
function sampleNode(id: string, load = 0): NodeInfo {
  const now = Date.now();
  return {
    id,
    address: '10.0.0.5:8080',
    metadata: { role: 'api', zone: 'eu-1' },
    load,
    instanceId: globalThis.crypto.randomUUID(),
    registeredAt: now,
    lastSeen: now,
  };
}
async function openDiscovery(
  namespace: string,
  ttl: number,
  extra: Partial<Parameters<typeof createDiscovery>[0]> = {},
) {
  return createDiscovery({
    backend: natsBackend({ servers: server.url, namespace }),
    ttl,
    autoHeartbeat: false,
    ...extra,
  });
}
async function forEachConcurrently(count: number, worker: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => worker(i)));
}
async function until(check: () => boolean, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('bench condition timed out');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// ---- heartbeats/s ---------------------------------------------------------------------------

async function rosterHeartbeats(): Promise<number> {
  const d = await openDiscovery(ns('hb'), 30_000);
  const ids = Array.from({ length: HEARTBEAT_CONCURRENCY }, (_, i) => `hb-${i}`);
  for (const id of ids)
    await d.register({ id, address: '10.0.0.5:8080', metadata: { role: 'api', zone: 'eu-1' } });
  let count = 0;
  const end = Date.now() + HEARTBEAT_ROUND_MS;
  await forEachConcurrently(HEARTBEAT_CONCURRENCY, async (i) => {
    while (Date.now() < end) {
      await d.heartbeat(ids[i] as string);
      count++;
    }
  });
  await d.close({ unregister: false });
  return count / (HEARTBEAT_ROUND_MS / 1000);
}

/**
 * `withWatch`: the same puts while a watch in the same process reads and decodes every change —
 * what each Roster instance does, since it watches its namespace and sees its own heartbeats.
 */
async function rawPuts(withWatch: boolean): Promise<number> {
  const kv = await kvm.create(`roster_${ns('rawhb')}`, { ttl: 30_000, history: 5 });
  const watch = withWatch ? await kv.watch({ include: KvWatchInclude.UpdatesOnly }) : undefined;
  if (watch)
    void (async () => {
      for await (const e of watch) decodeRecord(e.key, e.value);
    })();
  const values = Array.from({ length: HEARTBEAT_CONCURRENCY }, (_, i) => encodeRecord(sampleNode(`hb-${i}`)));
  let count = 0;
  const end = Date.now() + HEARTBEAT_ROUND_MS;
  await forEachConcurrently(HEARTBEAT_CONCURRENCY, async (i) => {
    while (Date.now() < end) {
      await kv.put(`hb-${i}`, values[i] as Uint8Array);
      count++;
    }
  });
  watch?.stop();
  return count / (HEARTBEAT_ROUND_MS / 1000);
}

// ---- propagation ----------------------------------------------------------------------------

/**
 * Register → `joined` at another instance, and raw put → another connection's watch, sample by
 * sample in alternation so that load from elsewhere on the machine hits both alike.
 */
async function propagation(): Promise<{ roster: number[]; raw: number[] }> {
  const namespace = ns('prop');
  const writer = await openDiscovery(namespace, 30_000);
  const reader = await openDiscovery(namespace, 30_000);
  const joined = new Map<string, number>();
  const controller = new AbortController();
  void (async () => {
    for await (const e of reader.watch({ signal: controller.signal, includeExisting: false }))
      if (e.type === 'joined') joined.set(e.node.id, performance.now());
  })();

  const name = `roster_${ns('rawprop')}`;
  const kv = await kvm.create(name, { ttl: 30_000, history: 5 });
  const other = await connect({ servers: server.url });
  const watched: KV = await new Kvm(other).open(name);
  const put = new Map<string, number>();
  const iterator = await watched.watch({ include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const e of iterator) put.set(e.key, performance.now());
  })();

  const roster: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < PROPAGATION_WARMUP + PROPAGATION_SAMPLES; i++) {
    const id = `p-${i}`;
    let started = performance.now();
    await kv.put(id, encodeRecord(sampleNode(id)));
    await until(() => put.has(id));
    if (i >= PROPAGATION_WARMUP) raw.push((put.get(id) as number) - started);
    started = performance.now();
    await writer.register({ id, address: '10.0.0.5:8080', metadata: { role: 'api', zone: 'eu-1' } });
    await until(() => joined.has(id));
    if (i >= PROPAGATION_WARMUP) roster.push((joined.get(id) as number) - started);
  }
  iterator.stop();
  await other.close();
  controller.abort();
  await writer.close({ unregister: false });
  await reader.close();
  return { roster, raw };
}

// ---- sync of 10,000 nodes -------------------------------------------------------------------

async function fill(name: string, ttl: number): Promise<void> {
  const kv = await kvm.create(name, { ttl, history: 5 });
  for (let start = 0; start < SYNC_NODES; start += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, SYNC_NODES - start) }, (_, j) => {
        const id = `n-${start + j}`;
        return kv.put(id, encodeRecord(sampleNode(id)));
      }),
    );
  }
}

async function rosterSync(namespace: string, ttl: number): Promise<number> {
  const started = performance.now();
  const d: NodeDiscovery = await openDiscovery(namespace, ttl);
  const elapsed = performance.now() - started;
  if (d.list().length !== SYNC_NODES)
    throw new Error(`synced ${d.list().length} nodes, expected ${SYNC_NODES}`);
  await d.close({ unregister: false });
  return elapsed;
}

async function rawSync(name: string): Promise<number> {
  const started = performance.now();
  const fresh = await connect({ servers: server.url });
  const kv = await new Kvm(fresh).open(name);
  const iterator = await kv.watch();
  const keys = new Set<string>();
  for await (const e of iterator) {
    if (e.operation === 'PUT') keys.add(e.key);
    if (keys.size === SYNC_NODES) break;
  }
  const elapsed = performance.now() - started;
  iterator.stop();
  await fresh.close();
  return elapsed;
}

// ---- expiry ---------------------------------------------------------------------------------

async function expiryDelays(): Promise<number[]> {
  const namespace = ns('exp');
  const owner = await openDiscovery(namespace, EXPIRY_TTL);
  const watcher = await openDiscovery(namespace, EXPIRY_TTL);
  const delays: number[] = [];
  const controller = new AbortController();
  const done = (async () => {
    for await (const e of watcher.watch({ signal: controller.signal, includeExisting: false }))
      if (e.type === 'left') {
        delays.push(Date.now() - e.node.lastSeen - EXPIRY_TTL);
        if (delays.length === EXPIRY_NODES) return;
      }
  })();
  for (let i = 0; i < EXPIRY_NODES; i++) {
    await owner.register({ id: `e-${i}` });
    await sleep(EXPIRY_TTL / EXPIRY_NODES); // spread the deadlines over a ttl
  }
  await owner.close({ unregister: false });
  await Promise.race([done, sleep(EXPIRY_TTL * 10)]);
  controller.abort();
  await watcher.close();
  return delays;
}

// ---- run ------------------------------------------------------------------------------------

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
console.log(`NATS ${version} at ${server.url}`);

const rosterHb: number[] = [];
const rawHb: number[] = [];
const rawWatchedHb: number[] = [];
for (let round = 0; round < HEARTBEAT_ROUNDS; round++) {
  rosterHb.push(await rosterHeartbeats());
  rawHb.push(await rawPuts(false));
  rawWatchedHb.push(await rawPuts(true));
}
const hb = { roster: median(rosterHb), raw: median(rawHb), rawWatched: median(rawWatchedHb) };
console.log('heartbeats/s', hb);

const { roster: rosterProp, raw: rawProp } = await propagation();
const prop = {
  roster50: quantile(rosterProp, 0.5),
  roster99: quantile(rosterProp, 0.99),
  raw50: quantile(rawProp, 0.5),
  raw99: quantile(rawProp, 0.99),
};
console.log('propagation', prop);

const syncNamespace = ns('sync');
const syncTtl = 120_000;
await fill(`roster_${syncNamespace}`, syncTtl);
const rosterSyncs: number[] = [];
const rawSyncs: number[] = [];
for (let i = 0; i < SYNC_REPEATS; i++) {
  rawSyncs.push(await rawSync(`roster_${syncNamespace}`));
  rosterSyncs.push(await rosterSync(syncNamespace, syncTtl));
}
const sync = { roster: median(rosterSyncs), raw: median(rawSyncs) };
console.log('sync', sync);

const delays = await expiryDelays();
const expiry = { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99), n: delays.length };
console.log('expiry', expiry);

const hit = (ok: boolean) => (ok ? 'hit' : '**miss**');
const hbRatio = hb.roster / hb.raw;
const propRatio = prop.roster99 / prop.raw99;
const syncRatio = sync.roster / sync.raw;
const bound = Math.max(1_000, EXPIRY_TTL / 4);
const table = [
  '### NATS',
  '',
  `nats-server ${version} (${server.source}), loopback, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ` +
    'Roster and the raw @nats-io/kv client run in the same process against the same server. ' +
    `Heartbeats: median of ${HEARTBEAT_ROUNDS} × ${HEARTBEAT_ROUND_MS / 1000} s rounds, ${HEARTBEAT_CONCURRENCY} nodes beaten concurrently ` +
    '(a Roster heartbeat is a compare-and-set put; the baseline an unconditional kv.put of a record of the same size). ' +
    `Propagation: ${PROPAGATION_SAMPLES} sequential registrations (after ${PROPAGATION_WARMUP} unmeasured) alternating sample by sample with raw put → watch on another connection. Sync: a new instance (connect, bucket check, list, watch) ` +
    `vs a new connection's raw kv.watch of the same ${SYNC_NODES.toLocaleString('en')} keys, median of ${SYNC_REPEATS}. ` +
    `Expiry: ${EXPIRY_NODES} nodes left silent, delay of \`left expired\` past lastSeen + ttl (no expiry event on this server: core's sweeper + a get).`,
  '',
  '| measure | Roster | raw @nats-io/kv | ratio | target | result |',
  '| --- | --- | --- | --- | --- | --- |',
  `| heartbeats/s (${HEARTBEAT_CONCURRENCY} concurrent) | ${hb.roster.toFixed(0)} | ${hb.raw.toFixed(0)} puts/s | ${hbRatio.toFixed(2)} | >= 0.80 | ${hit(hbRatio >= 0.8)} |`,
  `| heartbeats/s, baseline with a watch decoding every change in the same process | ${hb.roster.toFixed(0)} | ${hb.rawWatched.toFixed(0)} puts/s | ${(hb.roster / hb.rawWatched).toFixed(2)} | — | — |`,
  `| register → joined elsewhere, p50 | ${fmt(prop.roster50)} | ${fmt(prop.raw50)} (put → watch) | ${ratio(prop.roster50, prop.raw50)} | — | — |`,
  `| register → joined elsewhere, p99 | ${fmt(prop.roster99)} | ${fmt(prop.raw99)} (put → watch) | ${propRatio.toFixed(2)} | <= 2.00 | ${hit(propRatio <= 2)} |`,
  `| sync of ${SYNC_NODES.toLocaleString('en')} nodes | ${fmt(sync.roster)} | ${fmt(sync.raw)} (watch) | ${syncRatio.toFixed(2)} | <= 1.50 | ${hit(syncRatio <= 1.5)} |`,
  `| expiry detected after ttl (${EXPIRY_TTL} ms), p50 | ${fmt(expiry.p50)} | — | — | — | — |`,
  `| expiry detected after ttl (${EXPIRY_TTL} ms), p99 | ${fmt(expiry.p99)} | — | — | <= ${bound} ms (rule 4) | ${hit(expiry.p99 <= bound && expiry.n === EXPIRY_NODES)} |`,
].join('\n');
console.log(`\n${table}\n`);

const start = '<!-- bench:nats -->';
const end = '<!-- /bench:nats -->';
let doc: string;
try {
  doc = readFileSync(docsFile, 'utf8');
} catch {
  doc =
    '# Benchmarks\n\nEach backend against its raw client in the same run (`pnpm bench --backend <name>`).\n';
}
const section = `${start}\n${table}\n${end}`;
const from = doc.indexOf(start);
const to = doc.indexOf(end);
doc =
  from !== -1 && to > from
    ? doc.slice(0, from) + section + doc.slice(to + end.length)
    : `${doc.trimEnd()}\n\n${section}\n`;
writeFileSync(docsFile, doc);
console.log(`updated ${docsFile}`);

await nc.close();
await server.stop();
