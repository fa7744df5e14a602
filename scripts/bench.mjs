// `pnpm bench [--backend nats|redis|etcd ...]`: runs the benchmarks of the given backends (all
// that have one when none is given). Each writes its section of docs/benchmarks.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
const wanted = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--backend') wanted.push(args[++i]);
  else if (args[i].startsWith('--backend=')) wanted.push(args[i].slice('--backend='.length));
}
const all = ['nats', 'redis', 'etcd'].filter((b) =>
  existsSync(new URL(`../packages/${b}/bench/bench.ts`, import.meta.url)),
);
const backends = wanted.length > 0 ? wanted : all;
let status = 0;
for (const backend of backends) {
  if (!all.includes(backend)) {
    console.error(`no benchmark for backend "${backend}"; have: ${all.join(', ')}`);
    process.exit(2);
  }
  const run = spawnSync('pnpm', ['--filter', `@roster/${backend}`, 'bench'], { stdio: 'inherit' });
  status ||= run.status ?? 1;
}
process.exit(status);
