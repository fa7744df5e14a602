// Adds up the vitest JSON reports (test-results.json) of every workspace package that has a
// test script, and prints one line: `N passed, N failed, N skipped`. A package that has tests
// but wrote no report (its run crashed) counts as one failure. Each failed test is named, with the
// first lines of its failure, just above that line, so the tail of a CI log says what broke.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const group of ['packages', 'tooling', 'examples']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const manifest = join(dir, name, 'package.json');
    if (!existsSync(manifest)) continue;
    if (!JSON.parse(readFileSync(manifest, 'utf8')).scripts?.test) continue;
    const report = join(dir, name, 'test-results.json');
    if (!existsSync(report)) {
      console.error(`${group}/${name}: no test-results.json (its test run did not finish)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    if (r.numFailedTestSuites > 0 && r.numFailedTests === 0) failed += r.numFailedTestSuites;
    for (const file of r.testResults ?? []) {
      const where = `${group}/${name}/${file.name.slice(join(dir, name).length + 1)}`;
      const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
      for (const t of tests) failures.push({ where, title: t.fullName, message: t.failureMessages?.[0] });
      if (file.status === 'failed' && tests.length === 0) {
        failures.push({ where, title: '(the file itself failed)', message: file.message });
      }
    }
  }
}
for (const f of failures) {
  const lines = String(f.message ?? '')
    .split('\n')
    .slice(0, 6)
    .map((l) => `    ${l}`);
  console.log(`FAILED ${f.where} > ${f.title}\n${lines.join('\n')}`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
