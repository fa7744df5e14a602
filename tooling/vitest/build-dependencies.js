// vitest global setup: builds the workspace packages a test run depends on when their dist/ is
// missing (a clone that was only installed). In-process imports come from src (see
// workspace-sources.js), but child processes — SIGKILL owner fixtures, the CLI binary, examples
// run with node — load the built files. `pnpm test` (turbo: test depends on ^build) has built
// them already, and then this does nothing. A stale dist is not rebuilt here: run `pnpm build`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function workspacePackages() {
  const found = new Map();
  for (const group of ['packages', 'tooling', 'examples']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const manifest = join(dir, name, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
      found.set(pkg.name, { dir: join(dir, name), pkg });
    }
  }
  return found;
}

/** The workspace packages `start` depends on, directly or not, that have a build script. */
function dependenciesToBuild(start, all) {
  const seen = new Set();
  const visit = (pkg) => {
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      if (!String(range).startsWith('workspace:') || seen.has(name) || !all.has(name)) continue;
      seen.add(name);
      visit(all.get(name).pkg);
    }
  };
  visit(start);
  return [...seen].filter((name) => all.get(name).pkg.scripts?.build);
}

export default function setup(project) {
  const dir = project?.config?.root ?? process.cwd();
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return;
  const self = JSON.parse(readFileSync(manifest, 'utf8'));
  const all = workspacePackages();
  const missing = dependenciesToBuild(self, all).filter(
    (name) => !existsSync(join(all.get(name).dir, 'dist')),
  );
  if (missing.length === 0) return;
  console.log(`building ${missing.join(', ')} (no dist/ yet) before the tests of ${self.name}`);
  execFileSync(
    join(root, 'node_modules/.bin/turbo'),
    ['run', 'build', `--filter=${self.name}^...`, '--output-logs=errors-only'],
    { cwd: root, stdio: 'inherit' },
  );
}
