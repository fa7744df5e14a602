import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a user of npm gets: every published package packed as `pnpm publish` would pack it,
// installed from the tarballs into an app outside the workspace, then used from ESM, CommonJS
// (every entry point, the backend toolkit `@roster/core/spi` included),
// TypeScript (node16 and bundler resolution), the `roster` binary and the conformance suite.
// Registry dependencies come from the package store the workspace install filled (offline when
// it holds them). Run after a build: turbo's test task builds every workspace dependency first.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const appSources = fileURLToPath(new URL('../app/', import.meta.url));
const workspaceRequire = createRequire(join(root, 'package.json'));

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  files?: string[];
}

const published = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir: join(root, 'packages', dir) }))
  .filter(({ dir }) => existsSync(join(dir, 'package.json')))
  .map(({ dir }) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter(({ manifest }) => !manifest.private);

function run(command: string, args: string[], cwd: string, timeout = 300_000) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, CI: 'true' },
  });
  return {
    code: result.status,
    stdout: result.stdout ?? '',
    stderr: result.stderr ?? '',
    error: result.error,
  };
}

/** The version of a tool the workspace uses, so that the app gets the same one from the store. */
function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(workspaceRequire.resolve(`${name}/package.json`), 'utf8')) as Manifest)
    .version;
}

let work: string;
let app: string;
const tarballs = new Map<string, string>();
const packed = new Map<string, Manifest>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'roster-pack-check-'));
  app = join(work, 'app');
  const dest = join(work, 'tarballs');
  mkdirSync(dest);
  for (const { dir, manifest } of published) {
    const before = new Set(readdirSync(dest));
    execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, stdio: 'pipe' });
    const file = readdirSync(dest).find((f) => !before.has(f));
    if (!file) throw new Error(`pnpm pack wrote no tarball for ${manifest.name}`);
    tarballs.set(manifest.name, join(dest, file));
  }
  cpSync(appSources, app, { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const [name, file] of tarballs) dependencies[name] = `file:${file}`;
  for (const tool of ['typescript', 'vitest', '@types/node']) dependencies[tool] = workspaceVersion(tool);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'roster-pack-check-app', private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  // The overrides make the packages' references to each other (the CLI's dependency on core, the
  // backends' peer dependency) resolve to the tarballs too, as they would to the registry.
  // protobufjs (under etcd3) has a postinstall that pnpm refuses to run unapproved; it is not
  // needed, as a user of @roster/etcd on pnpm would also answer.
  writeFileSync(
    join(app, 'pnpm-workspace.yaml'),
    [
      'overrides:',
      ...[...tarballs].map(([name, file]) => `  "${name}": "file:${file}"`),
      'allowBuilds:',
      '  esbuild: true',
      '  protobufjs: false',
      '',
    ].join('\n'),
  );
  const install = run('pnpm', ['install', '--prefer-offline'], app, 600_000);
  if (install.code !== 0)
    throw new Error(`installing the tarballs failed:\n${install.stdout}\n${install.stderr}`);
  for (const name of tarballs.keys())
    packed.set(
      name,
      JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as Manifest,
    );
}, 900_000);

afterAll(() => {
  if (work && process.env.ROSTER_KEEP_PACK_CHECK !== '1') rmSync(work, { recursive: true, force: true });
});

/**
 * What smoke.mjs and smoke.cjs print: the node registered, every entry point loaded (the backend
 * toolkit too), and the toolkit's errors are the classes of the main entry (one copy).
 */
const SMOKE_OUTPUT = {
  ids: ['smoke-1'],
  exports: {
    core: 'function',
    spi: 'function',
    shared: true,
    cli: 'function',
    nats: 'function',
    redis: 'function',
    etcd: 'function',
  },
};

describe('packed packages', () => {
  it('ESM: every package imports and the memory backend registers a node', () => {
    const result = run(process.execPath, ['smoke.mjs'], app);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(SMOKE_OUTPUT);
  });

  it('CommonJS: every package requires and the memory backend registers a node', () => {
    const result = run(process.execPath, ['smoke.cjs'], app);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(SMOKE_OUTPUT);
  });

  it('TypeScript: the published types compile under node16 resolution (ESM and CommonJS files)', () => {
    const result = run(
      process.execPath,
      [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.node16.json'],
      app,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('TypeScript: the published types compile under bundler resolution', () => {
    const result = run(
      process.execPath,
      [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bundler.json'],
      app,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('the roster binary: --help, and ls on the memory backend', () => {
    const bin = join(app, 'node_modules/.bin/roster');
    const help = run(bin, ['--help'], app);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/roster/);
    const ls = run(bin, ['ls', '--url', 'memory:'], app);
    expect(ls.code, ls.stderr).toBe(0);
  });

  it('a custom backend runs through the published conformance suite', () => {
    // A subset of the suite's cases: enough to show the published suite loads and runs; memory's
    // own behaviour is tested in packages/memory.
    const result = run(
      join(app, 'node_modules/.bin/vitest'),
      ['run', 'custom-backend.test.ts', '-t', 'register|validation|close|backend: put', '--reporter=dot'],
      app,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\d+ passed/);
  });

  it('every tarball ships dist and the sources its source maps point at, and nothing of the tests', () => {
    for (const [name] of tarballs) {
      const dir = join(app, 'node_modules', name);
      const files = readdirSync(dir, { recursive: true }).map(String);
      expect(
        files.some((f) => f.startsWith('dist')),
        name,
      ).toBe(true);
      expect(
        files.some((f) => f.startsWith('test')),
        name,
      ).toBe(false);
      for (const map of files.filter((f) => f.endsWith('.map'))) {
        const { sources } = JSON.parse(readFileSync(join(dir, map), 'utf8')) as { sources: string[] };
        for (const source of sources)
          expect(existsSync(join(dir, map, '..', source)), `${name}/${map} → ${source}`).toBe(true);
      }
    }
  });

  it('peer ranges on @roster/core accept the core packed with them', () => {
    const core = packed.get('@roster/core')!.version;
    for (const [name, manifest] of packed) {
      const range = manifest.peerDependencies?.['@roster/core'] ?? manifest.dependencies?.['@roster/core'];
      if (!range) continue;
      expect(range, name).not.toMatch(/^workspace:/);
      expect(satisfiesCaretOrMin(core, range), `${name} wants @roster/core ${range}, packed ${core}`).toBe(
        true,
      );
    }
  });

  it('engines: no production dependency needs a newer Node than the package declares', () => {
    for (const [name, manifest] of packed) {
      const declared = minimumNode(manifest.engines?.node ?? '*');
      for (const dependency of productionTree(join(app, 'node_modules', name))) {
        const needed = minimumNode(dependency.engines?.node ?? '*');
        expect(
          compare(declared, needed) >= 0,
          `${name} declares node ${manifest.engines?.node}, but ${dependency.name}@${dependency.version} needs ${dependency.engines?.node}`,
        ).toBe(true);
      }
    }
  });
});

/** Every package reachable through `dependencies` from the installed package at `dir`. */
function productionTree(dir: string): Manifest[] {
  const seen = new Map<string, Manifest>();
  const visit = (from: string) => {
    const manifest = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as Manifest;
    const resolve = createRequire(join(from, 'package.json'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      let path: string;
      try {
        path = join(resolve.resolve(`${dep}/package.json`), '..');
      } catch {
        continue; // a package without ./package.json in its exports: found through its main instead
      }
      if (seen.has(path)) continue;
      seen.set(path, JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as Manifest);
      visit(path);
    }
  };
  visit(dir);
  return [...seen.values()];
}

type Version = [number, number, number];

function parse(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/^[^\d]*/, '')
    .split('.')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : 0));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The lowest Node version an `engines.node` range allows (`>=20.19`, `>= 22.x`, `6.* || >= 10`). */
function minimumNode(range: string): Version {
  const alternatives = range.split('||').map((part) => part.trim());
  if (alternatives.some((part) => part === '*' || part === '')) return [0, 0, 0];
  // `>= 22.x` → `>=22.x`; the first comparator of an alternative is its lower bound.
  return alternatives
    .map((part) => parse(part.replace(/([<>=^~]+)\s+/g, '$1').split(/\s+/)[0]!))
    .sort(compare)[0]!;
}

/** `^x.y.z` (npm's caret, 0.x included) or `>=x.y.z`, which is all this workspace publishes. */
function satisfiesCaretOrMin(version: string, range: string): boolean {
  const v = parse(version);
  const r = parse(range);
  if (range.startsWith('>=')) return compare(v, r) >= 0;
  if (!range.startsWith('^')) return range === version;
  if (compare(v, r) < 0) return false;
  if (r[0] > 0) return v[0] === r[0];
  if (r[1] > 0) return v[0] === 0 && v[1] === r[1];
  return v[0] === 0 && v[1] === 0 && v[2] === r[2];
}
