/**
 * `pnpm bench [--backend memory|nats|redis|etcd …] [--adapter ./my-adapter.ts] [--quick]
 * [--soak-seconds N] [--idle-instances 20,50] [--only idle,heartbeat,propagation,expiry,soak,sync] [--no-write]`
 *
 * Runs every measure of issue 11 on each backend, side by side with its raw client, prints one
 * table per backend and rewrites that backend's section of docs/benchmarks.md (not with --quick,
 * whose figures are a smoke test, not a measurement). See docs/benchmarks.md.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchAdapter, BenchAdapterFactory, CustomBenchAdapter } from './adapter.js';
import { etcdAdapter } from './adapters/etcd.js';
import { memoryAdapter } from './adapters/memory.js';
import { natsAdapter } from './adapters/nats.js';
import { redisAdapter } from './adapters/redis.js';
import { expiry } from './measures/expiry.js';
import { heartbeatThroughput } from './measures/heartbeat-throughput.js';
import { idleCost } from './measures/idle-cost.js';
import { propagation } from './measures/propagation.js';
import { soak } from './measures/soak.js';
import { sync } from './measures/sync.js';
import { type BenchResults, renderSection, writeSection } from './report.js';
import { FULL, QUICK, type Sizes } from './sizes.js';
import { spiBaseline } from './spi-baseline.js';

const BUILT_IN: Record<string, BenchAdapterFactory> = {
  memory: memoryAdapter,
  nats: natsAdapter,
  redis: redisAdapter,
  etcd: etcdAdapter,
};
const MEASURES = ['idle', 'heartbeat', 'propagation', 'expiry', 'soak', 'sync'] as const;
type Measure = (typeof MEASURES)[number];

interface Args {
  backends: string[];
  adapters: string[];
  quick: boolean;
  soakSeconds: number | undefined;
  idleInstances: number[] | undefined;
  only: Set<Measure>;
  write: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    backends: [],
    adapters: [],
    quick: false,
    soakSeconds: undefined,
    idleInstances: undefined,
    only: new Set(MEASURES),
    write: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] as string).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--backend') args.backends.push(...value().split(','));
    else if (flag === '--adapter') args.adapters.push(value());
    else if (flag === '--quick') args.quick = true;
    else if (flag === '--no-write') args.write = false;
    else if (flag === '--soak-seconds') {
      args.soakSeconds = Number(value());
      if (!Number.isFinite(args.soakSeconds) || args.soakSeconds <= 0)
        throw new Error(`--soak-seconds takes a number of seconds > 0, got ${argv[i]}`);
    } else if (flag === '--idle-instances') {
      args.idleInstances = value().split(',').map(Number);
      if (args.idleInstances.some((n) => !Number.isInteger(n) || n < 1))
        throw new Error(`--idle-instances takes instance counts like 20,50, got ${argv[i]}`);
    } else if (flag === '--only') {
      const wanted = value().split(',');
      const unknown = wanted.filter((m) => !(MEASURES as readonly string[]).includes(m));
      if (unknown.length > 0)
        throw new Error(`--only: unknown measure ${unknown.join(', ')}; have ${MEASURES.join(', ')}`);
      args.only = new Set(wanted as Measure[]);
    } else throw new Error(`unknown argument ${argv[i]}; see docs/benchmarks.md`);
  }
  for (const name of args.backends)
    if (!BUILT_IN[name])
      throw new Error(
        `no built-in backend "${name}"; have ${Object.keys(BUILT_IN).join(', ')} (or --adapter <module>)`,
      );
  if (args.backends.length === 0 && args.adapters.length === 0) args.backends = Object.keys(BUILT_IN);
  return args;
}

async function loadAdapter(path: string, quick: boolean): Promise<BenchAdapter> {
  const module = (await import(pathToFileURL(path).href)) as {
    default?: (options: { quick: boolean }) => Promise<CustomBenchAdapter>;
  };
  if (typeof module.default !== 'function')
    throw new Error(`${path} must default-export a function that resolves { name, backend(namespace) }`);
  const custom = await module.default({ quick });
  if (typeof custom?.name !== 'string' || typeof custom.backend !== 'function')
    throw new Error(`the adapter of ${path} needs a name and a backend(namespace) function`);
  const backend = custom.backend.bind(custom);
  return {
    title: custom.name,
    server: `custom backend (${path})`,
    raw: spiBaseline(`${custom.name} backend SPI (no core)`, backend),
    close: async () => {},
    ...custom,
    backend,
  };
}

async function run(adapter: BenchAdapter, sizes: Sizes, args: Args): Promise<BenchResults> {
  const stamp = Date.now().toString(36);
  let serial = 0;
  const namespace = (label: string) => `bench_${label}_${stamp}_${serial++}`;
  const results: BenchResults = { sizes, quick: args.quick, sync: [], idle: [], failures: [] };
  const step = async (measure: Measure, label: string, body: () => Promise<void>) => {
    if (!args.only.has(measure)) return;
    const started = performance.now();
    process.stdout.write(`[${adapter.name}] ${label} … `);
    try {
      await body();
      console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.log(`failed: ${message}`);
      results.failures.push({ measure: label, message });
    }
  };
  // Idle cost first, on a server nothing else has touched yet (etcd counts every revision).
  for (const instances of sizes.idleInstances)
    await step('idle', `idle cost, ${instances} instances`, async () => {
      results.idle.push(await idleCost(adapter, sizes, instances, namespace));
    });
  await step('heartbeat', 'heartbeat throughput', async () => {
    results.heartbeat = await heartbeatThroughput(adapter, sizes, namespace);
  });
  await step('propagation', 'register → joined', async () => {
    results.propagation = await propagation(adapter, sizes, namespace);
  });
  await step('expiry', 'expiry detection', async () => {
    results.expiry = await expiry(adapter, sizes, namespace);
  });
  await step('soak', `${sizes.soakNodes} nodes for ${sizes.soakSeconds} s`, async () => {
    results.soak = await soak(adapter, sizes, namespace);
  });
  // Sync last: it leaves the most records behind.
  for (const nodes of sizes.syncNodes)
    await step('sync', `sync of ${nodes} nodes`, async () => {
      results.sync.push(await sync(adapter, sizes, nodes, namespace));
    });
  return results;
}

const args = parseArgs(process.argv.slice(2));
const base = args.quick ? QUICK : FULL;
const sizes: Sizes = {
  ...base,
  soakSeconds: args.soakSeconds ?? base.soakSeconds,
  idleInstances: args.idleInstances ?? base.idleInstances,
};
const docsFile = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));
let failed = false;
const quickFlag = args.quick ? ' --quick' : '';
const factories: { command: string; open: () => Promise<BenchAdapter> }[] = [
  ...args.backends.map((name) => ({
    command: `pnpm bench --backend ${name}${quickFlag}`,
    open: () => (BUILT_IN[name] as BenchAdapterFactory)({ quick: args.quick }),
  })),
  ...args.adapters.map((path) => ({
    command: `pnpm bench --adapter ${path}${quickFlag}`,
    open: () => loadAdapter(path, args.quick),
  })),
];
for (const { command, open } of factories) {
  const adapter = await open();
  try {
    const results = await run(adapter, sizes, args);
    failed ||= results.failures.length > 0;
    const section = renderSection(adapter, results, command);
    console.log(`\n${section}\n`);
    if (args.write && !args.quick) {
      writeSection(docsFile, adapter.name, section);
      console.log(`updated the ${adapter.name} section of ${docsFile}`);
    } else console.log('(docs/benchmarks.md not touched: --quick or --no-write)');
  } finally {
    await adapter.close();
  }
}
process.exitCode = failed ? 1 : 0;
