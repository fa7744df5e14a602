// `pnpm chaos --backend <memory|nats|redis|etcd> [--cluster] [--redis-topology sentinel|cluster]
//   --duration <s> [--seed <n>] [--ttl <ms>] [--failovers <n>] [--dump <file>]`: prints one line per cycle on stderr, the
// violations, then the summary line; exits non-zero on any violation.
import { parseArgs } from 'node:util';
import { runChaos } from './run-chaos.js';
import { BACKENDS, type BackendName } from './topology.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    'redis-topology': { type: 'string', default: 'sentinel' },
    duration: { type: 'string', default: '60' },
    seed: { type: 'string' },
    ttl: { type: 'string', default: '2000' },
    dump: { type: 'string' },
    failovers: { type: 'string', default: '0' },
  },
});
const backend = values.backend as BackendName;
const failovers = Number(values.failovers);
if (!BACKENDS.includes(backend)) {
  console.error(`--backend must be one of ${BACKENDS.join(', ')}, got ${String(values.backend)}`);
  process.exitCode = 2;
} else if (!Number.isInteger(failovers) || failovers < 0 || (failovers > 0 && !values.cluster)) {
  console.error(
    `--failovers must be a whole number, and above 0 only with --cluster; got ${values.failovers}`,
  );
  process.exitCode = 2;
} else {
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const durationMs = Number(values.duration) * 1_000;
  const redisTopology = values['redis-topology'] === 'cluster' ? 'cluster' : 'sentinel';
  const replay = `pnpm chaos --backend ${backend}${values.cluster ? ' --cluster' : ''}${values.cluster && backend === 'redis' ? ` --redis-topology ${redisTopology}` : ''} --duration ${values.duration} --seed ${seed} --ttl ${values.ttl}${failovers > 0 ? ` --failovers ${failovers}` : ''}`;
  try {
    const result = await runChaos({
      backend,
      cluster: values.cluster,
      durationMs,
      seed,
      ttl: Number(values.ttl),
      redisTopology,
      failovers,
      ...(values.dump ? { dumpFile: values.dump } : {}),
      log: (line) => console.error(line),
    });
    for (const violation of result.violations) console.error(violation);
    if (!result.ok) console.error(`FAILED: ${result.violations.length} violations; replay with: ${replay}`);
    else console.error(`seed ${seed} (replay: ${replay})`);
    console.log(result.summary);
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    console.error(error);
    console.error(`the run itself failed; replay with: ${replay}`);
    process.exitCode = 1;
  }
}
