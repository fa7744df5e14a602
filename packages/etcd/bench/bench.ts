/**
 * Roster on etcd against raw etcd3 at equal concurrency, in one run on one server:
 * heartbeats/s vs raw puts/s, register→joined elsewhere vs raw put→watch, sync of 10,000 nodes vs
 * a raw range + watch, and expiry detection delay after the ttl. Prints a markdown table and
 * writes it into docs/benchmarks.md between <!-- bench:etcd --> and <!-- /bench:etcd -->.
 *
 * Server: ROSTER_ETCD_URL when set, else one started by @roster/test-services.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createDiscovery, type NodeChangeEvent, type NodeDiscovery } from '@roster/core';
import { startEtcd } from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { etcdBackend } from '../src/index.js';

const CONCURRENCY = 32;
const ROUNDS = 3;
const ROUND_MS = 3_000;
const PROPAGATION_SAMPLES = 200;
const SYNC_NODES = 10_000;
const SYNC_REPEATS = 5;
const EXPIRY_NODES = 40;
const EXPIRY_TTL = 2_000;

const run = Date.now().toString(36);
const server = await startEtcd();
const hosts = server.url;
const raw = new Etcd3({ hosts });
const rows: string[][] = [];

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function forDuration(durationMs: number, worker: (index: number) => Promise<void>): Promise<number> {
  const end = performance.now() + durationMs;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, index) => {
      while (performance.now() < end) {
        await worker(index);
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** A watcher that resolves a promise per node id when `type` arrives for it. */
function awaitEvents(discovery: NodeDiscovery, type: NodeChangeEvent['type']) {
  const waiting = new Map<string, (at: number) => void>();
  const controller = new AbortController();
  void (async () => {
    for await (const event of discovery.watch({ signal: controller.signal, includeExisting: false })) {
      if (event.type === type) waiting.get(event.node.id)?.(performance.now());
    }
  })();
  return {
    next: (id: string) => new Promise<number>((resolve) => waiting.set(id, resolve)),
    stop: () => controller.abort(),
  };
}

// ---- 1. heartbeat throughput ------------------------------------------------------------------
async function heartbeats(): Promise<void> {
  const owner = await createDiscovery({
    backend: etcdBackend({ hosts, namespace: `bhb${run}` }),
    ttl: 30_000,
    autoHeartbeat: false,
  });
  const ids = Array.from({ length: CONCURRENCY }, (_, i) => `hb-${i}`);
  for (const id of ids) await owner.register({ id, address: '10.0.0.1:8080', metadata: { role: 'api' } });
  const value = Buffer.from(JSON.stringify(owner.get('hb-0')));
  const roster: number[] = [];
  const baseline: number[] = [];
  const casBaseline: number[] = [];
  const revisions = new Map<number, string>();
  for (let round = 0; round < ROUNDS; round++) {
    roster.push(await forDuration(ROUND_MS, (i) => owner.heartbeat(ids[i]!)));
    baseline.push(
      await forDuration(ROUND_MS, async (i) => {
        await raw.put(`bench/${run}/hb-${i}`).value(value);
      }),
    );
    // Context only: the compare-and-set a heartbeat needs, done with the raw client (no lease).
    casBaseline.push(
      await forDuration(ROUND_MS, async (i) => {
        const key = Buffer.from(`bench/${run}/cas-${i}`);
        const response = await raw.kv.txn({
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: revisions.get(i) ?? 0 }],
          success: [{ request_put: { key, value } }],
          failure: [],
        });
        if (response.succeeded) revisions.set(i, response.header.revision);
      }),
    );
  }
  await owner.close();
  const r = median(roster);
  const b = median(baseline);
  const cas = median(casBaseline);
  rows.push([
    `heartbeats/s (${CONCURRENCY} concurrent)`,
    r.toFixed(0),
    `${b.toFixed(0)} puts/s`,
    (r / b).toFixed(2),
    '>= 0.80',
    r / b >= 0.8 ? 'hit' : 'miss',
  ]);
  rows.push([
    '(context) raw compare-and-set txns/s',
    '—',
    `${cas.toFixed(0)} txns/s`,
    `${(r / cas).toFixed(2)} of it`,
    '—',
    '—',
  ]);
}

// ---- 2. propagation ---------------------------------------------------------------------------
async function propagation(): Promise<void> {
  const namespace = `bpr${run}`;
  const a = await createDiscovery({
    backend: etcdBackend({ hosts, namespace }),
    ttl: 30_000,
    autoHeartbeat: false,
  });
  const b = await createDiscovery({ backend: etcdBackend({ hosts, namespace }), ttl: 30_000 });
  const joined = awaitEvents(b, 'joined');
  const roster: number[] = [];
  for (let i = 0; i < PROPAGATION_SAMPLES; i++) {
    const id = `p-${i}`;
    const arrived = joined.next(id);
    const start = performance.now();
    await a.register({ id, address: '10.0.0.1:8080' });
    roster.push((await arrived) - start);
  }
  joined.stop();
  await Promise.all([a.close(), b.close()]);

  const reader = new Etcd3({ hosts });
  const waiting = new Map<string, (at: number) => void>();
  const watcher = await reader.watch().prefix(`bench/${run}/pr/`).create();
  watcher.on('put', (kv) => waiting.get(kv.key.toString())?.(performance.now()));
  const baseline: number[] = [];
  for (let i = 0; i < PROPAGATION_SAMPLES; i++) {
    const key = `bench/${run}/pr/p-${i}`;
    const arrived = new Promise<number>((resolve) => waiting.set(key, resolve));
    const start = performance.now();
    await raw.put(key).value('{"v":1}');
    baseline.push((await arrived) - start);
  }
  await watcher.cancel();
  reader.close();
  for (const q of [0.5, 0.99] as const) {
    const r = quantile(roster, q);
    const bq = quantile(baseline, q);
    rows.push([
      `register → joined elsewhere, p${q * 100}`,
      ms(r),
      ms(bq),
      (r / bq).toFixed(2),
      q === 0.99 ? '<= 2.00' : '—',
      q === 0.99 ? (r / bq <= 2 ? 'hit' : 'miss') : '—',
    ]);
  }
}

// ---- 3. sync of 10,000 nodes ------------------------------------------------------------------
async function sync(): Promise<void> {
  const namespace = `bsy${run}`;
  const owner = await createDiscovery({
    backend: etcdBackend({ hosts, namespace }),
    ttl: 120_000,
    autoHeartbeat: false,
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < SYNC_NODES) {
        const i = next++;
        await owner.register({
          id: `n-${i}`,
          address: `10.0.${i >> 8}.${i & 255}:8080`,
          metadata: { zone: `z${i % 3}` },
        });
      }
    }),
  );
  const roster: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < SYNC_REPEATS; round++) {
    let start = performance.now();
    const fresh = await createDiscovery({ backend: etcdBackend({ hosts, namespace }), ttl: 120_000 });
    roster.push(performance.now() - start);
    if (fresh.list().length !== SYNC_NODES) throw new Error(`synced ${fresh.list().length} nodes`);
    await fresh.close();

    const client = new Etcd3({ hosts });
    start = performance.now();
    const all = await client.getAll().prefix(`roster/${namespace}/nodes/`).exec();
    const watcher = await client
      .watch()
      .prefix(`roster/${namespace}/`)
      .startRevision(String(Number(all.header.revision) + 1))
      .create();
    baseline.push(performance.now() - start);
    if (all.kvs.length !== SYNC_NODES) throw new Error(`raw range saw ${all.kvs.length}`);
    await watcher.cancel();
    client.close();
  }
  await owner.close({ unregister: false });
  const r = median(roster);
  const b = median(baseline);
  rows.push([
    `sync of ${SYNC_NODES.toLocaleString('en')} nodes (median of ${SYNC_REPEATS})`,
    ms(r),
    `${ms(b)} (range + watch)`,
    (r / b).toFixed(2),
    '<= 1.50',
    r / b <= 1.5 ? 'hit' : 'miss',
  ]);
}

// ---- 4. expiry detection ----------------------------------------------------------------------
async function expiry(): Promise<void> {
  const namespace = `bex${run}`;
  const owner = await createDiscovery({
    backend: etcdBackend({ hosts, namespace }),
    ttl: EXPIRY_TTL,
    autoHeartbeat: false,
  });
  const watcher = await createDiscovery({ backend: etcdBackend({ hosts, namespace }), ttl: EXPIRY_TTL });
  const left = awaitEvents(watcher, 'left');
  const lastBeat = new Map<string, number>();
  const arrivals: Promise<number>[] = [];
  for (let i = 0; i < EXPIRY_NODES; i++) {
    const id = `e-${i}`;
    await owner.register({ id });
    arrivals.push(left.next(id));
    await owner.heartbeat(id);
    lastBeat.set(id, performance.now());
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await owner.close({ unregister: false });
  const roster = (await Promise.all(arrivals)).map((at, i) => at - lastBeat.get(`e-${i}`)! - EXPIRY_TTL);
  left.stop();
  await watcher.close();

  const reader = new Etcd3({ hosts });
  const deleted = new Map<string, (at: number) => void>();
  const w = await reader.watch().prefix(`bench/${run}/ex/`).create();
  w.on('delete', (kv) => deleted.get(kv.key.toString())?.(performance.now()));
  const baseline: Promise<number>[] = [];
  for (let i = 0; i < EXPIRY_NODES; i++) {
    const key = `bench/${run}/ex/e-${i}`;
    const lease = await raw.leaseClient.leaseGrant({ TTL: EXPIRY_TTL / 1000 });
    await raw.kv.put({ key: Buffer.from(key), value: Buffer.from('x'), lease: lease.ID });
    const written = performance.now();
    baseline.push(
      new Promise<number>((resolve) => deleted.set(key, resolve)).then((at) => at - written - EXPIRY_TTL),
    );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const rawDelays = await Promise.all(baseline);
  await w.cancel();
  reader.close();
  for (const q of [0.5, 0.99] as const)
    rows.push([
      `expiry detected after ttl (${EXPIRY_TTL} ms), p${q * 100}`,
      ms(quantile(roster, q)),
      `${ms(quantile(rawDelays, q))} (lease → delete event)`,
      '—',
      q === 0.99 ? `<= ${Math.max(1000, EXPIRY_TTL / 4)} ms (rule 4)` : '—',
      q === 0.99 ? (quantile(roster, q) <= Math.max(1000, EXPIRY_TTL / 4) ? 'hit' : 'miss') : '—',
    ]);
}

function table(): string {
  const header = ['measure', 'Roster', 'raw etcd3', 'ratio', 'target', 'result'];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

function writeSection(markdown: string): void {
  const file = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));
  const begin = '<!-- bench:etcd -->';
  const end = '<!-- /bench:etcd -->';
  const section = `${begin}\n${markdown}\n${end}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text =
      '# Benchmarks\n\nEach backend against its raw client in the same run (`pnpm bench --backend <name>`).\n';
  }
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + section + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
}

try {
  const version = (await raw.maintenance.status()).version;
  await heartbeats();
  await propagation();
  await sync();
  await expiry();
  const markdown = [
    `### etcd`,
    '',
    `etcd ${version} (${server.source}), loopback, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ` +
      `Roster and raw etcd3 alternate in the same run at equal concurrency; heartbeats: median of ${ROUNDS} × ${ROUND_MS / 1000} s rounds, ` +
      `${CONCURRENCY} nodes beaten concurrently (a Roster heartbeat is a compare-and-set txn plus a lease keep-alive; the raw baseline a plain put). ` +
      `Propagation: ${PROPAGATION_SAMPLES} sequential registrations (a txn on a lease granted ahead of time) vs raw puts. Expiry: ${EXPIRY_NODES} nodes, delay past the ttl.`,
    '',
    table(),
  ].join('\n');
  console.log(markdown);
  writeSection(markdown);
} finally {
  raw.close();
  await server.stop();
}
