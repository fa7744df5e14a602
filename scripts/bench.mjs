// `pnpm bench [--backend memory|nats|redis|etcd ...] [--adapter ./my-adapter.ts] [--quick]
// [--soak-seconds N] [--idle-instances 20,50] [--only idle,heartbeat,propagation,expiry,soak,sync] [--no-write]`:
// runs the one benchmark harness (tooling/bench) on the given backends, all four when none is
// given. Each full run rewrites its backend's section of docs/benchmarks.md; see that page.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const harness = fileURLToPath(new URL('../tooling/bench/', import.meta.url));
// pnpm runs scripts from the root; INIT_CWD is where the user typed the command.
const cwd = process.env.INIT_CWD ?? process.cwd();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  // The harness runs in tooling/bench: make an adapter path the user gave absolute first.
  if (args[i] === '--adapter' && args[i + 1] !== undefined) args[i + 1] = resolve(cwd, args[i + 1]);
  else if (args[i].startsWith('--adapter='))
    args[i] = `--adapter=${resolve(cwd, args[i].slice('--adapter='.length))}`;
}
const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'src/main.ts', ...args], {
  cwd: harness,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
