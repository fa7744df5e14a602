import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_MUTANTS } from './gallery/all-mutants.js';

interface AssertionResult {
  title: string;
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages?: string[];
}
interface Report {
  testResults: { name: string; assertionResults: AssertionResult[] }[];
}
interface Run {
  results?: AssertionResult[];
  problem?: string;
  ms: number;
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'roster-gallery-'));
/** Child runs at once: the healthy run takes longest and starts first; mutants share the rest. */
const PARALLEL = 3;
const CHILD_LIMIT = 180_000;
const runs = new Map<string, Run>();
let galleryMs = 0;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One child vitest on the gallery file: the whole suite, or only the case named by `pattern`. */
function runChild(name: string, pattern?: string): Promise<Run> {
  const out = join(outDir, `${name}.json`);
  const args = [
    join(packageDir, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--config',
    'vitest.gallery.config.ts',
    '--reporter=json',
    `--outputFile=${out}`,
    ...(pattern ? ['--testNamePattern', pattern] : []),
  ];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: packageDir,
      env: { ...process.env, ROSTER_TEST_RESULTS: '0', ROSTER_MUTANT: name },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      try {
        const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
        resolve({ results: report.testResults.flatMap((f) => f.assertionResults), ms });
      } catch {
        resolve({ problem: `the run wrote no report (exit ${signal ?? code}): ${stderr}`, ms });
      }
    });
  });
}

/**
 * The suite is only as good as what it catches: it runs, in child vitest processes, against the
 * healthy memory backend (every case) and against each deliberately broken one (only the case
 * meant to catch it), and must fail on every mutant in that case while passing on the healthy one.
 */
describe('conformance gallery', () => {
  beforeAll(async () => {
    const started = Date.now();
    const queue: [string, string | undefined][] = [
      ['healthy', undefined],
      ...Object.entries(ALL_MUTANTS).map(([name, mutant]): [string, string] => [
        name,
        `${escapeRegExp(mutant.caughtBy)}$`,
      ]),
    ];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) runs.set(next[0], await runChild(...next));
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    galleryMs = Date.now() - started;
  }, 600_000);

  it('the suite passes on the healthy memory backend', () => {
    const run = runs.get('healthy');
    expect(run?.problem).toBeUndefined();
    const results = run!.results!;
    expect(results.filter((r) => r.status === 'failed').map((r) => r.title)).toEqual([]);
    expect(results.filter((r) => r.status === 'passed').length).toBeGreaterThan(30);
    console.info(
      `gallery: ${runs.size} runs in ${(galleryMs / 1000).toFixed(0)} s (healthy: ${(run!.ms / 1000).toFixed(0)} s)`,
    );
  });

  it('docs/custom-backend.md lists every mutant with the case that catches it', () => {
    const page = readFileSync(new URL('../../../docs/custom-backend.md', import.meta.url), 'utf8');
    // Cells compared trimmed: the Markdown formatter pads table columns.
    const rows = page
      .slice(page.indexOf('## The gallery'))
      .split('\n')
      .filter((line) => /^\| `[a-z0-9-]+` +\|/.test(line))
      .map((line) => line.replace(/ +\|/g, ' |').replace(/\| +/g, '| '));
    const cell = (text: string) => text.replace(/\|/g, '\\|');
    expect(rows).toEqual(
      Object.entries(ALL_MUTANTS).map(
        ([name, m]) => `| \`${name}\` | ${cell(m.description)} | ${cell(m.caughtBy)} |`,
      ),
    );
  });

  for (const [name, mutant] of Object.entries(ALL_MUTANTS)) {
    it(`the suite fails on "${name}" (${mutant.description}), in: ${mutant.caughtBy}`, () => {
      const run = runs.get(name);
      expect(run?.problem, `${name}`).toBeUndefined();
      const ran = run!.results!.filter((r) => r.status !== 'skipped' && r.status !== 'pending');
      const caseResult = run!.results!.find((r) => r.title === mutant.caughtBy);
      expect(caseResult, `no case titled "${mutant.caughtBy}" ran on ${name}`).toBeDefined();
      expect(
        ran.map((r) => r.title),
        'only the named case runs for a mutant',
      ).toEqual([mutant.caughtBy]);
      expect(caseResult!.status, `the case meant to catch ${name} passed`).toBe('failed');
    });
  }
});
