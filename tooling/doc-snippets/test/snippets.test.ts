import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceHandle, startEtcd, startNats, startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every ```ts / ```js block of README.md and docs/*.md runs as written: JavaScript with plain
// `node` (.mjs), TypeScript with tsx (.mts), each in its own process, which must exit 0 by itself
// within 30 s. The only change: the default server addresses become the test servers'.
// A block is not run here when
// - it is a file that another test runs verbatim (COVERED below: the test checks the page shows
//   that file exactly), or
// - its first line is a visible `// excerpt` comment (part of a larger file, shown for one option).
// Also: no Markdown link in those pages points outside the repository, and the published package
// READMEs link only absolutely (they are read on npm, where ../../docs does not exist).

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = fileURLToPath(new URL('../scratch/', import.meta.url));

/** Files run verbatim by other tests, each of which asserts that its page shows the file exactly. */
const COVERED = [
  ['packages/core/test/fixtures/map-backend.ts', 'packages/core/test/map-backend.test.ts'],
  ...readdirSync(join(root, 'examples/migration/steps')).map((file) => [
    `examples/migration/steps/${file}`,
    'examples/migration/test/migration-guide.test.ts',
  ]),
] as const;

interface Block {
  page: string;
  line: number;
  lang: 'ts' | 'js';
  code: string;
}

const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter((p) =>
  p.endsWith('.md'),
);

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript|mjs)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    blocks.push({
      page,
      line: start + 1,
      lang: open[1]!.startsWith('t') ? 'ts' : 'js',
      code: body.join('\n'),
    });
  }
  return blocks;
}

const all = pages.flatMap(blocksOf);
const coveredBy = (block: Block) =>
  COVERED.find(([file]) => readFileSync(join(root, file), 'utf8').trim() === block.code.trim());
const isExcerpt = (block: Block) => /^\/\/ excerpt\b/.test(block.code);
const runnable = all.filter((b) => !coveredBy(b) && !isExcerpt(b));

let nats: ServiceHandle;
let redis: ServiceHandle;
let etcd: ServiceHandle;

beforeAll(async () => {
  [nats, redis, etcd] = await Promise.all([startNats(), startRedis(), startEtcd()]);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
}, 60_000);
afterAll(async () => {
  await Promise.all([nats?.stop(), redis?.stop(), etcd?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
});

/** The pages use the default ports; the test servers run elsewhere. */
function localise(code: string): string {
  const hostOf = (url: string) => url.replace(/^[a-z]+:\/\//, '');
  return code
    .replaceAll('127.0.0.1:4222', hostOf(nats.url))
    .replaceAll('127.0.0.1:6379', hostOf(redis.url))
    .replaceAll('127.0.0.1:2379', hostOf(etcd.url));
}

describe('code blocks of README.md and docs/', () => {
  it('finds the blocks (the extraction itself works)', () => {
    expect(all.length).toBeGreaterThan(10);
    expect(runnable.some((b) => b.page === 'README.md')).toBe(true);
    expect(runnable.some((b) => b.page === 'docs/getting-started.md')).toBe(true);
  });

  it.each(runnable.map((b) => [`${b.page}:${b.line}`, b] as const))('%s runs as written', (name, block) => {
    const testFile = /^\/\/ (test\/[\w-]+\.test\.ts)$/m.exec(block.code.split('\n')[0]!)?.[1];
    if (testFile) return runTestFile(name, block, testFile);
    const file = join(scratch, `${name.replace(/[^a-z0-9]+/gi, '-')}.${block.lang === 'ts' ? 'mts' : 'mjs'}`);
    writeFileSync(file, localise(block.code));
    const args = block.lang === 'ts' ? ['--import', 'tsx', file] : [file];
    const result = spawnSync(process.execPath, args, { cwd: scratch, encoding: 'utf8', timeout: 30_000 });
    expect(result.error, `${name} did not exit within 30 s`).toBeUndefined();
    expect(result.status, `${name} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it.each(all.filter(coveredBy).map((b) => [`${b.page}:${b.line}`, b] as const))(
    '%s is a file another test runs verbatim',
    (_name, block) => {
      const [file, test] = coveredBy(block)!;
      expect(existsSync(join(root, test)), `${test} runs ${file}`).toBe(true);
      // That test reads this page and asserts that it shows the file exactly.
      expect(readFileSync(join(root, test), 'utf8')).toContain(block.page);
    },
  );
});

/**
 * A block that names itself a test file (`// test/my-backend.test.ts`) runs under vitest, in a
 * project whose src/ holds the files its page shows verbatim (the backend it tests). Only the
 * suite's register cases run: the point is that the page's code runs as written; the full suite
 * runs on the same backend in packages/core.
 */
function runTestFile(name: string, block: Block, testFile: string) {
  const project = join(scratch, name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(join(project, 'src'), { recursive: true });
  mkdirSync(join(project, 'test'), { recursive: true });
  for (const shown of all.filter((b) => b.page === block.page && coveredBy(b))) {
    const [file] = coveredBy(shown)!;
    writeFileSync(join(project, 'src', file.split('/').at(-1)!), shown.code);
  }
  writeFileSync(join(project, testFile), localise(block.code));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  const vitest = join(scratch, '../node_modules/vitest/vitest.mjs');
  const result = spawnSync(process.execPath, [vitest, 'run', testFile, '-t', 'register'], {
    cwd: project,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CI: 'true' },
  });
  expect(result.error, `${name} did not finish within 120 s`).toBeUndefined();
  expect(result.status, `${name} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stdout).toMatch(/Tests\s+.*\d+ passed/);
}

describe('links', () => {
  const linksOf = (page: string) =>
    [...readFileSync(join(root, page), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);

  it.each(pages)('%s links only to files that exist in the repository, or to URLs', (page) => {
    for (const target of linksOf(page)) {
      if (/^[a-z]+:/.test(target) || target.startsWith('#')) continue;
      const path = join(root, page, '..', target.split('#')[0]!);
      expect(relative(root, path).startsWith('..'), `${page} → ${target} leaves the repository`).toBe(false);
      expect(existsSync(path), `${page} → ${target} does not exist`).toBe(true);
    }
  });

  const published = readdirSync(join(root, 'packages')).filter((dir) => {
    const manifest = join(root, 'packages', dir, 'package.json');
    return existsSync(manifest) && !JSON.parse(readFileSync(manifest, 'utf8')).private;
  });
  it.each(published)('packages/%s/README.md links only absolutely (it is read on npm)', (dir) => {
    const readme = `packages/${dir}/README.md`;
    expect(existsSync(join(root, readme)), `${readme} exists`).toBe(true);
    for (const target of linksOf(readme))
      expect(/^(https?:|mailto:|#)/.test(target), `${readme} → ${target} is relative`).toBe(true);
  });
});
