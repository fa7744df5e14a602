/**
 * `pnpm bench --backend redis`: Roster on Redis against raw ioredis in the same run, same server,
 * same concurrency. Prints a markdown table and writes it between `<!-- bench:redis -->` and
 * `<!-- /bench:redis -->` in docs/benchmarks.md. ROSTER_REDIS_URL uses an existing server
 * (the bench writes only under `{roster:bench-*}` and `bench-raw:*` keys).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDiscovery, encodeRecord, type NodeDiscovery, type NodeInfo } from '@roster/core';
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { redisBackend } from '../src/index.js';

const CONCURRENCY = 64;
const HEARTBEAT_SECONDS = 5;
const PROPAGATION_SAMPLES = 1_000;
const SYNC_NODES = 10_000;
const SYNC_ROUNDS = 5;
const EXPIRY_TTL = 1_000;
const EXPIRY_NODES = 20;
const EXPIRY_ROUNDS = 3;

const server = await startRedis();
const url = server.url;
const run = Date.now().toString(36);
let namespaces = 0;
const namespace = (what: string) => `bench-${what}-${run}${namespaces++}`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

async function forDuration(
  seconds: number,
  workers: number,
  work: (worker: number) => Promise<void>,
): Promise<number> {
  let count = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < until) {
        await work(worker);
        count++;
      }
    }),
  );
  return count / seconds;
}

function sampleRecord(id: string): Buffer {
  const now = Date.now();
  const node: NodeInfo = {
    id,
    address: '10.0.0.5:8080',
    metadata: { role: 'api', zone: 'eu-1' },
    load: 0.5,
    instanceId: crypto.randomUUID(),
    registeredAt: now,
    lastSeen: now,
  };
  return Buffer.from(encodeRecord(node));
}

// ---- heartbeats/s ----------------------------------------------------------------------------

async function heartbeats(): Promise<{ roster: number; raw: number }> {
  const discovery = await createDiscovery({
    backend: redisBackend({ url, namespace: namespace('hb') }),
    ttl: 30_000,
    autoHeartbeat: false,
  });
  const ids = Array.from({ length: CONCURRENCY }, (_, i) => `hb-${i}`);
  for (const id of ids)
    await discovery.register({ id, address: '10.0.0.5:8080', metadata: { role: 'api', zone: 'eu-1' } });
  // The raw equivalent of a heartbeat: store the record and append it to a capped stream, one round trip.
  const client = new Redis(url);
  const records = ids.map(sampleRecord);
  const rawWrite = (w: number) =>
    client
      .pipeline()
      .hset(`bench-raw:${run}:records`, ids[w]!, records[w]!)
      .xadd(`bench-raw:${run}:changes`, 'MAXLEN', '~', 10_000, '*', 'k', ids[w]!, 'v', records[w]!)
      .exec();
  // One-second turns, alternating, so both sides see the same load on a shared machine.
  let roster = 0;
  let raw = 0;
  for (let turn = 0; turn < HEARTBEAT_SECONDS; turn++) {
    roster += await forDuration(1, CONCURRENCY, (w) => discovery.heartbeat(ids[w]!));
    raw += await forDuration(1, CONCURRENCY, async (w) => {
      await rawWrite(w);
    });
  }
  await discovery.close();
  client.disconnect();
  return { roster: roster / HEARTBEAT_SECONDS, raw: raw / HEARTBEAT_SECONDS };
}

// ---- propagation ------------------------------------------------------------------------------

async function propagation(): Promise<{ roster: number[]; raw: number[] }> {
  const ns = namespace('prop');
  const a = await createDiscovery({
    backend: redisBackend({ url, namespace: ns }),
    ttl: 30_000,
    autoHeartbeat: false,
  });
  const b = await createDiscovery({ backend: redisBackend({ url, namespace: ns }), ttl: 30_000 });
  const waiting = new Map<string, () => void>();
  const controller = new AbortController();
  void (async () => {
    for await (const event of b.watch({ signal: controller.signal, includeExisting: false }))
      if (event.type === 'joined') waiting.get(event.node.id)?.();
  })();
  const writer = new Redis(url);
  const reader = new Redis(url);
  const stream = `bench-raw:${run}:prop`;
  let lastId = '0-0';

  // Samples alternate between Roster and raw, so both see the same load on a shared machine.
  const roster: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < PROPAGATION_SAMPLES; i++) {
    const id = `p-${i}`;
    const arrived = new Promise<void>((resolve) => waiting.set(id, resolve));
    let start = performance.now();
    await a.register({ id });
    await arrived;
    roster.push(performance.now() - start);

    start = performance.now();
    const read = reader.xreadBuffer('COUNT', 100, 'BLOCK', 5_000, 'STREAMS', stream, lastId);
    await writer.xadd(stream, 'MAXLEN', '~', 10_000, '*', 'k', id, 'v', sampleRecord(id));
    const reply = await read;
    const entries = reply?.[0]?.[1] ?? [];
    lastId = entries.at(-1)?.[0].toString() ?? lastId;
    raw.push(performance.now() - start);
  }
  controller.abort();
  await a.close({ unregister: false });
  await b.close();
  writer.disconnect();
  reader.disconnect();
  return { roster, raw };
}

// ---- sync of 10,000 nodes --------------------------------------------------------------------

async function sync(): Promise<{ roster: number; list: number; raw: number; rawParsed: number }> {
  const ns = namespace('sync');
  const owner = await createDiscovery({
    backend: redisBackend({ url, namespace: ns }),
    ttl: 120_000,
    autoHeartbeat: false,
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < SYNC_NODES) {
        const i = next++;
        await owner.register({
          id: `s-${i}`,
          address: `10.0.${i >> 8}.${i & 255}:8080`,
          metadata: { role: 'api', zone: `z${i % 3}` },
        });
      }
    }),
  );
  const rosterTimes: number[] = [];
  const listTimes: number[] = [];
  const rawTimes: number[] = [];
  const rawParsedTimes: number[] = [];
  const backend = redisBackend({ url, namespace: ns });
  await backend.open({ ttl: 120_000, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  for (let round = 0; round < SYNC_ROUNDS; round++) {
    let start = performance.now();
    const fresh: NodeDiscovery = await createDiscovery({
      backend: redisBackend({ url, namespace: ns }),
      ttl: 120_000,
    });
    if (fresh.list().length !== SYNC_NODES)
      throw new Error(`synced ${fresh.list().length} nodes, expected ${SYNC_NODES}`);
    rosterTimes.push(performance.now() - start);
    await fresh.close();

    // Raw: connect, read every record and the stream position a watch would start from.
    start = performance.now();
    const client = new Redis(url);
    const records = await client.hgetallBuffer(`{roster:${ns}}:records`);
    await client.xrevrange(`{roster:${ns}}:changes`, '+', '-', 'COUNT', 1);
    if (Object.keys(records).length !== SYNC_NODES) throw new Error('raw read a different number of records');
    rawTimes.push(performance.now() - start);
    // The same read plus the least a client must do to hold the nodes: parse each record.
    start = performance.now();
    const parsed = (await client.hgetallBuffer(`{roster:${ns}}:records`)) as Record<string, Buffer>;
    for (const value of Object.values(parsed)) JSON.parse(value.subarray(value.indexOf(10) + 1).toString());
    rawParsedTimes.push(performance.now() - start + (rawTimes.at(-1) ?? 0));
    client.disconnect();

    // The backend's own part: one atomic snapshot (records, revisions, stream position).
    start = performance.now();
    await backend.list();
    listTimes.push(performance.now() - start);
  }
  await backend.close();
  await owner.close({ unregister: false });
  return {
    roster: median(rosterTimes),
    list: median(listTimes),
    raw: median(rawTimes),
    rawParsed: median(rawParsedTimes),
  };
}

// ---- expiry detection -------------------------------------------------------------------------

async function expiry(): Promise<number[]> {
  const ns = namespace('exp');
  const watcher = await createDiscovery({ backend: redisBackend({ url, namespace: ns }), ttl: EXPIRY_TTL });
  const delays: number[] = [];
  const pending = new Map<string, () => void>();
  const controller = new AbortController();
  void (async () => {
    for await (const event of watcher.watch({ signal: controller.signal, includeExisting: false })) {
      if (event.type === 'left' && event.reason === 'expired') {
        delays.push(Date.now() - event.node.lastSeen - EXPIRY_TTL);
        pending.get(event.node.id)?.();
      }
    }
  })();
  for (let round = 0; round < EXPIRY_ROUNDS; round++) {
    const owner = await createDiscovery({ backend: redisBackend({ url, namespace: ns }), ttl: EXPIRY_TTL });
    const gone: Promise<void>[] = [];
    for (let i = 0; i < EXPIRY_NODES; i++) {
      const id = `e-${round}-${i}`;
      gone.push(new Promise((resolve) => pending.set(id, resolve)));
      await owner.register({ id });
      // Spread the deadlines over the sweep period.
      await new Promise((resolve) => setTimeout(resolve, 13));
    }
    await owner.close({ unregister: false });
    await Promise.all(gone);
  }
  controller.abort();
  await watcher.close();
  return delays;
}

// ---- report -----------------------------------------------------------------------------------

const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
const perSecond = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;
const verdict = (ok: boolean) => (ok ? 'hit' : '**miss**');

try {
  const info = await new Redis(url)
    .info('server')
    .then((text) => /redis_version:(\S+)/.exec(text)?.[1] ?? '?');
  const hb = await heartbeats();
  const prop = await propagation();
  const syncTimes = await sync();
  const delays = await expiry();

  const hbRatio = hb.roster / hb.raw;
  const propRatio = percentile(prop.roster, 99) / percentile(prop.raw, 99);
  const syncRatio = syncTimes.roster / syncTimes.raw;
  const syncParsedRatio = syncTimes.roster / syncTimes.rawParsed;
  const rows = [
    '| Measure | Roster | Raw ioredis | Ratio | Target | Result |',
    '| --- | --- | --- | --- | --- | --- |',
    `| Heartbeats (${CONCURRENCY} concurrent, ${HEARTBEAT_SECONDS} × 1 s turns each, alternating) | ${perSecond(hb.roster)} | ${perSecond(hb.raw)} (HSET+XADD pipelined) | ${hbRatio.toFixed(2)} | >= 0.8 | ${verdict(hbRatio >= 0.8)} |`,
    `| Propagation p50 (register → joined elsewhere; raw XADD → XREAD) | ${ms(percentile(prop.roster, 50))} | ${ms(percentile(prop.raw, 50))} | ${(percentile(prop.roster, 50) / percentile(prop.raw, 50)).toFixed(2)} | | |`,
    `| Propagation p99 (${PROPAGATION_SAMPLES} samples each, alternating) | ${ms(percentile(prop.roster, 99))} | ${ms(percentile(prop.raw, 99))} | ${propRatio.toFixed(2)} | <= 2 | ${verdict(propRatio <= 2)} |`,
    `| Sync of ${SYNC_NODES.toLocaleString('en-US')} nodes: createDiscovery vs raw connect + HGETALL + stream position (median of ${SYNC_ROUNDS}) | ${ms(syncTimes.roster)} | ${ms(syncTimes.raw)} | ${syncRatio.toFixed(2)} | <= 1.5 | ${verdict(syncRatio <= 1.5)} |`,
    `| Sync, raw side also JSON-parses each record | ${ms(syncTimes.roster)} | ${ms(syncTimes.rawParsed)} | ${syncParsedRatio.toFixed(2)} | (<= 1.5) | ${verdict(syncParsedRatio <= 1.5)} |`,
    `| Sync, backend \`list()\` alone (no decoding) vs raw read | ${ms(syncTimes.list)} | ${ms(syncTimes.raw)} | ${(syncTimes.list / syncTimes.raw).toFixed(2)} | | |`,
    `| Expiry detection after ttl (${EXPIRY_TTL} ms), p50 / p99 of ${delays.length} | ${ms(percentile(delays, 50))} / ${ms(percentile(delays, 99))} | — | | <= ${Math.max(1_000, EXPIRY_TTL / 4)} ms (rule 4) | ${verdict(percentile(delays, 99) <= Math.max(1_000, EXPIRY_TTL / 4))} |`,
  ];
  const section = [
    '## Redis',
    '',
    `Redis ${info} on loopback (${server.source}), Node ${process.version}, ${availableParallelism()} cores, ${new Date().toISOString().slice(0, 10)}.`,
    'Roster and the raw baseline run in the same process against the same server; see packages/redis/bench/bench.ts.',
    '',
    ...rows,
    '',
  ].join('\n');
  console.log(section);

  const file = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));
  const open = '<!-- bench:redis -->';
  const close = '<!-- /bench:redis -->';
  const block = `${open}\n${section}\n${close}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(open);
  const end = current.indexOf(close);
  const updated =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + close.length)
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, updated);
  console.log(`\nwritten to ${file}`);
} finally {
  await server.stop();
}
process.exit(0);
