import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MUTANTS } from './gallery/mutants.js';

interface AssertionResult {
  title: string;
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
}
interface FileResult {
  name: string;
  assertionResults: AssertionResult[];
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let files: Map<string, AssertionResult[]>;

/**
 * The suite is only as good as what it catches: it runs, in a child vitest, against the healthy
 * memory backend and against each deliberately broken one, and must fail on every mutant — in
 * the case meant to catch it — while passing on the healthy backend.
 */
describe('conformance gallery', () => {
  beforeAll(() => {
    const out = join(mkdtempSync(join(tmpdir(), 'roster-gallery-')), 'results.json');
    const run = spawnSync(
      process.execPath,
      [
        join(packageDir, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        'vitest.gallery.config.ts',
        '--reporter=json',
        `--outputFile=${out}`,
      ],
      {
        cwd: packageDir,
        env: { ...process.env, ROSTER_TEST_RESULTS: '0' },
        encoding: 'utf8',
        timeout: 240_000,
      },
    );
    let report: { testResults: FileResult[] };
    try {
      report = JSON.parse(readFileSync(out, 'utf8'));
    } catch {
      throw new Error(`the gallery run wrote no report (exit ${run.status}): ${run.stderr.slice(-2000)}`);
    }
    files = new Map(
      report.testResults.map((f) => [
        f.name.split('/').pop()!.replace('.conformance.ts', ''),
        f.assertionResults,
      ]),
    );
  }, 300_000);

  it('the suite passes on the healthy memory backend', () => {
    const results = files.get('healthy');
    expect(results, 'healthy run missing').toBeDefined();
    expect(results!.filter((r) => r.status === 'failed').map((r) => r.title)).toEqual([]);
    expect(results!.filter((r) => r.status === 'passed').length).toBeGreaterThan(30);
  });

  for (const [name, mutant] of Object.entries(MUTANTS)) {
    it(`the suite fails on "${name}" (${mutant.description}), in: ${mutant.caughtBy}`, () => {
      const results = files.get(name);
      expect(results, `${name} run missing`).toBeDefined();
      const failed = results!.filter((r) => r.status === 'failed').map((r) => r.title);
      expect(failed.length, `no case failed on ${name}`).toBeGreaterThan(0);
      expect(failed).toContain(mutant.caughtBy);
    });
  }
});
