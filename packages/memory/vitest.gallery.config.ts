import { defineConfig } from 'vitest/config';

// The conformance gallery's child run (see test/gallery.test.ts): one file per mutant, in parallel.
export default defineConfig({
  test: {
    include: ['test/gallery/*.conformance.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
