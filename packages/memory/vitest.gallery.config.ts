import { defineConfig } from 'vitest/config';

// The conformance gallery's child runs (see test/gallery.test.ts): one run per mutant, each of one
// file. vitest's default testTimeout and hookTimeout on purpose: the suite sets its own timeouts
// from the ttl, so a correct backend passes without a raised testTimeout.
export default defineConfig({
  test: {
    include: ['test/gallery/mutant.conformance.ts'],
    pool: 'forks',
    maxWorkers: 1,
  },
});
