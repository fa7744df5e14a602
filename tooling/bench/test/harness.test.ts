import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery } from '@roster/core';
import { createMemoryStore, memoryBackend } from '@roster/memory';
import { describe, expect, it } from 'vitest';
import type { BenchAdapter } from '../src/adapter.js';
import { grpcMessagesReceived } from '../src/adapters/etcd.js';
import { commandCalls } from '../src/adapters/redis.js';
import { countingBackend, newTally } from '../src/counting-backend.js';
import { type BenchResults, renderSection, writeSection } from '../src/report.js';
import { QUICK } from '../src/sizes.js';
import { spiBaseline } from '../src/spi-baseline.js';
import { quantile } from '../src/stats.js';

describe('quantile', () => {
  it('takes the nearest rank, so a p99 of 100 samples is the 99th smallest', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('server counters', () => {
  it('adds up INFO commandstats calls, leaving out the INFO calls of the bench itself', () => {
    const info = [
      '# Commandstats',
      'cmdstat_xclaim:calls=120,usec=300,usec_per_call=2.50,rejected_calls=0,failed_calls=0',
      'cmdstat_info:calls=9,usec=900,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
      'cmdstat_evalsha:calls=30,usec=600,usec_per_call=20.00,rejected_calls=0,failed_calls=0',
    ].join('\r\n');
    expect(commandCalls(info)).toBe(150);
  });

  it('sums grpc_server_msg_received_total over every method, and says when etcd has none', () => {
    const metrics = [
      '# TYPE grpc_server_msg_received_total counter',
      'grpc_server_msg_received_total{grpc_method="LeaseKeepAlive",grpc_service="etcdserverpb.Lease",grpc_type="bidi_stream"} 40',
      'grpc_server_msg_received_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 2',
      'grpc_server_handled_total{grpc_code="OK",grpc_method="Range"} 2',
    ].join('\n');
    expect(grpcMessagesReceived(metrics)).toBe(42);
    expect(grpcMessagesReceived('etcd_server_has_leader 1')).toBeUndefined();
  });
});

describe('countingBackend', () => {
  it('counts puts, plain heartbeats and feed changes, and names each heartbeat', async () => {
    const store = createMemoryStore();
    const tally = newTally();
    const beats: string[] = [];
    const owner = await createDiscovery({
      backend: countingBackend(memoryBackend({ store, namespace: 't' }), tally, (key) => beats.push(key)),
      ttl: 5_000,
      autoHeartbeat: false,
    });
    await owner.register({ id: 'a' });
    await owner.heartbeat('a');
    await owner.heartbeat('a');
    expect(tally.puts).toBe(3);
    expect(tally.heartbeats).toBe(2);
    expect(beats).toEqual(['a', 'a']);
    const deadline = Date.now() + 5_000;
    while (tally.changes < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(tally.changes).toBeGreaterThanOrEqual(1);
    await owner.close();
  });
});

describe('spiBaseline', () => {
  it('lists and parses the records another instance registered', async () => {
    const store = createMemoryStore();
    const backend = (namespace: string) => memoryBackend({ store, namespace });
    const owner = await createDiscovery({ backend: backend('s'), ttl: 60_000, autoHeartbeat: false });
    await owner.registerMany([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(await spiBaseline('memory', backend).listParse('s', 3, 60_000)).toBe(3);
    await owner.close();
  });
});

function adapter(): BenchAdapter {
  const store = createMemoryStore();
  const backend = (namespace: string) => memoryBackend({ store, namespace });
  return {
    name: 'fake',
    title: 'Fake',
    server: 'nothing',
    backend,
    raw: spiBaseline('raw fake', backend),
    targets: { heartbeatRatio: 0.9, idle: [{ counter: 'commands', maxPerNodePerSecond: 2, maxGrowth: 1.2 }] },
    close: async () => {},
  };
}

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return { sizes: QUICK, quick: false, sync: [], idle: [], failures: [], ...overrides };
}

const row = (section: string, start: string) =>
  section.split('\n').find((line) => line.startsWith(`| ${start}`)) ?? '';

describe('renderSection', () => {
  it('judges the heartbeat ratio against the backend target', () => {
    const hit = renderSection(adapter(), results({ heartbeat: { roster: 950, raw: 1000, context: [] } }));
    expect(row(hit, 'heartbeats/s')).toMatch(/\| 0\.95 \| >= 0\.90 \| hit \|$/);
    const miss = renderSection(adapter(), results({ heartbeat: { roster: 800, raw: 1000, context: [] } }));
    expect(row(miss, 'heartbeats/s')).toMatch(/\| 0\.80 \| >= 0\.90 \| \*\*miss\*\* \|$/);
  });

  it('judges idle cost per node and its growth from the smallest to the largest instance count', () => {
    const idle = (instances: number, commands: number) => ({
      instances,
      seconds: 30,
      server: { commands },
      puts: 1,
      changes: 0,
    });
    const grown = renderSection(adapter(), results({ idle: [idle(20, 1.5), idle(50, 1.9)] }));
    expect(row(grown, 'idle: server commands per node per s, 20 instances')).toMatch(/\| hit \|$/);
    // 1.9 is under 2, but 1.9 / 1.5 = 1.27 is more than 1.2 × the 20-instance figure.
    expect(row(grown, 'idle: server commands per node per s, 50 instances')).toMatch(
      /\| 1\.27 of 20 \| .* \| \*\*miss\*\* \|$/,
    );
  });

  it('judges only the largest sync, and a soak that lost a node is a miss', () => {
    const sync = (nodes: number, roster: number) => ({
      nodes,
      roster,
      raw: 100,
      backendList: 50,
      heapPerNode: 500,
      externalPerNode: 0,
    });
    const section = renderSection(
      adapter(),
      results({
        sync: [sync(10_000, 200), sync(100_000, 120)],
        soak: {
          nodes: 10_000,
          ttl: 10_000,
          seconds: 300,
          lost: 1,
          listed: 9_999,
          heartbeatsPerSecond: 3_000,
          otherPuts: 1,
          server: undefined,
          delayP50: 5,
          delayP99: 400,
          maxGap: 3_800,
          gaps: 900_000,
        },
      }),
    );
    expect(row(section, 'sync of 10,000')).toMatch(/\| 2\.00 \| — \| — \|$/);
    expect(row(section, 'sync of 100,000')).toMatch(/\| 1\.20 \| <= 1\.30 \| hit \|$/);
    expect(row(section, '10,000 nodes in one process, ttl 10 s, 300 s: nodes lost')).toMatch(
      /\*\*miss\*\* \|$/,
    );
    expect(row(section, '10,000 nodes in one process, ttl 10 s, 300 s: heartbeat delay')).toMatch(
      /\| hit \|$/,
    );
  });

  it('labels a quick run as a smoke run, not a measurement', () => {
    expect(renderSection(adapter(), results({ quick: true }))).toContain('not a measurement');
  });
});

describe('writeSection', () => {
  it('replaces the section between its markers and leaves the rest of the page alone', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'benchmarks.md');
    writeFileSync(file, '# B\n\nintro\n\n<!-- bench:x -->\nold\n<!-- /bench:x -->\n\ntail\n');
    writeSection(file, 'x', 'new');
    writeSection(file, 'y', 'added');
    expect(readFileSync(file, 'utf8')).toBe(
      '# B\n\nintro\n\n<!-- bench:x -->\nnew\n<!-- /bench:x -->\n\ntail\n\n<!-- bench:y -->\nadded\n<!-- /bench:y -->\n',
    );
  });
});
