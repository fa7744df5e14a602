import { fileURLToPath } from 'node:url';
import { rosterVitestConfig } from '@roster/vitest-config';

export default rosterVitestConfig({
  // Test fixtures import '@roster/core' the way users do; inside core that is its own source.
  resolve: {
    alias: [
      { find: /^@roster\/core$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      {
        find: /^@roster\/core\/spi$/,
        replacement: fileURLToPath(new URL('./src/spi/index.ts', import.meta.url)),
      },
    ],
  },
});
