import { randomBytes } from 'node:crypto';
import type { NodeDiscovery } from '@roster/core';
import { describeTarget } from '../backend-url.js';
import type { Command, CommandContext } from '../command.js';
import { renderTable } from '../table.js';

/** What `roster bench` measured. */
interface BenchResult {
  backend: string;
  nodes: number;
  registerToJoinedP50Ms: number;
  registerToJoinedP99Ms: number;
  heartbeatsPerSecond: number;
}

export const bench: Command = {
  name: 'bench',
  writes: true,
  summary: 'measure a backend through Roster: propagation latency and heartbeat throughput',
  usage: 'roster bench [--url URL] [--nodes N] [--duration s] [--json]',
  description:
    'Opens two instances on a fresh namespace (bench-xxxxxx), registers N nodes on one and times\n' +
    'each until the other sees it joined, then heartbeats all N concurrently for --duration\n' +
    'seconds, and removes everything it wrote. For Roster against the raw client of each backend\n' +
    'in the same run, see `pnpm bench` in the repository (docs/benchmarks.md).',
  options: {
    nodes: {
      type: 'string',
      value: 'N',
      description: 'nodes to register and heartbeat (1-5000, default 200)',
    },
    duration: { type: 'string', value: 's', description: 'seconds of heartbeats (default 3)' },
  },
  examples: ['roster bench', 'roster bench --url nats://127.0.0.1:4222 --nodes 1000 --json'],
  async run(context) {
    const count = context.args.number('nodes', { min: 1, max: 5_000, integer: true }) ?? 200;
    const seconds = context.args.number('duration', { min: 0.5, max: 600 }) ?? 3;
    const namespace = context.args.string('namespace') ?? `bench-${randomBytes(3).toString('hex')}`;
    const writer = await context.connect({ namespace, ttl: 30_000 });
    const reader = await context.connect({ namespace, ttl: 30_000 });
    const result = await measure(context, writer, reader, count, seconds * 1_000);
    if (context.json) context.out.line(JSON.stringify(result));
    else print(context, result);
    return 0;
  },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(
  context: CommandContext,
  writer: NodeDiscovery,
  reader: NodeDiscovery,
  count: number,
  durationMs: number,
): Promise<BenchResult> {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let resolveAll!: () => void;
  const allSeen = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  const controller = new AbortController();
  void (async () => {
    for await (const event of reader.watch({ includeExisting: false, signal: controller.signal })) {
      const at = sent.get(event.node.id);
      if (event.type !== 'joined' || at === undefined) continue;
      latencies.push(performance.now() - at);
      if (latencies.length === count) resolveAll();
    }
  })();
  const ids = Array.from({ length: count }, (_, i) => `bench-${i}`);
  context.progress.start(`registering ${count} nodes on ${describeTarget(context.target())} …`);
  for (const id of ids) {
    sent.set(id, performance.now());
    await writer.register({ id });
  }
  await allSeen;
  controller.abort();
  latencies.sort((a, b) => a - b);

  context.progress.update(`heartbeating ${count} nodes for ${durationMs / 1_000} s …`);
  let beats = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    ids.map(async (id) => {
      while (performance.now() < end && !context.interrupt.aborted) {
        await writer.heartbeat(id);
        beats += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  context.progress.update('cleaning up …');
  await Promise.all(ids.map((id) => writer.unregister(id)));
  context.progress.stop();
  return {
    backend: writer.backendName,
    nodes: count,
    registerToJoinedP50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
    registerToJoinedP99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
    heartbeatsPerSecond: Math.round(beats / elapsed),
  };
}

function print(context: CommandContext, result: BenchResult): void {
  const out = context.out;
  out.line(
    `${out.paint('bold', 'roster bench')} on ${describeTarget(context.target())} (${result.nodes} nodes)`,
  );
  for (const line of renderTable(
    out,
    ['MEASURE', 'VALUE'],
    [
      ['register → joined elsewhere, p50', `${result.registerToJoinedP50Ms} ms`],
      ['register → joined elsewhere, p99', `${result.registerToJoinedP99Ms} ms`],
      [`heartbeats/s (${result.nodes} concurrent)`, String(result.heartbeatsPerSecond)],
    ],
  ))
    out.line(line);
}
