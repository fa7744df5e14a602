// Shared vitest settings. Plain JS so that vitest can load it from any package's config without a build.
import { defineConfig, mergeConfig } from 'vitest/config';

/**
 * Every package's test run writes `test-results.json` (vitest's JSON reporter) next to its
 * package.json; `.ci/run` adds those files up into the single `N passed, N failed` line.
 * Set ROSTER_TEST_RESULTS=0 to skip the file (the conformance gallery's child runs do).
 */
export function rosterVitestConfig(overrides = {}) {
  const reporters =
    process.env.ROSTER_TEST_RESULTS === '0'
      ? ['default']
      : ['default', ['json', { outputFile: 'test-results.json' }]];
  return mergeConfig(
    defineConfig({
      test: {
        include: ['test/**/*.test.ts'],
        testTimeout: 30_000,
        hookTimeout: 60_000,
        reporters,
        pool: 'forks',
      },
    }),
    defineConfig(overrides),
  );
}
