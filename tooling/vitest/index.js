// Shared vitest settings. Plain JS so that vitest can load it from any package's config without a build.
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import { workspaceSourceAliases } from './workspace-sources.js';

/**
 * Every package's test run writes `test-results.json` (vitest's JSON reporter) next to its
 * package.json; `.ci/run` adds those files up into the single `N passed, N failed` line.
 * Set ROSTER_TEST_RESULTS=0 to skip the file (the conformance gallery's child runs do).
 * Workspace packages are imported from their sources (workspace-sources.js); the ones whose
 * dist/ a test's child processes need are built first when missing (build-dependencies.js).
 */
export function rosterVitestConfig(overrides = {}) {
  const reporters =
    process.env.ROSTER_TEST_RESULTS === '0'
      ? ['default']
      : ['default', ['json', { outputFile: 'test-results.json' }]];
  return mergeConfig(
    defineConfig({
      resolve: { alias: workspaceSourceAliases() },
      test: {
        globalSetup: [fileURLToPath(new URL('./build-dependencies.js', import.meta.url))],
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
