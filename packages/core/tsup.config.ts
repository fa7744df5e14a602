import { defineConfig } from 'tsup';
import { rosterTsup } from '../../tooling/tsup-config/index.js';

// Three entries: the library; `./spi`, the toolkit of backend authors (as vercel/ai's
// provider-utils); and, as vercel/ai ships its test helpers, `./conformance`
// (the shared suite), which imports vitest. vitest stays external: an optional peer.
// `splitting` for CommonJS too: the entries share one copy of the error classes, so an error
// thrown by the toolkit (`./spi`) is `instanceof` the class an application imports from `.`.
export default defineConfig(
  rosterTsup({
    entry: { index: 'src/index.ts', conformance: 'src/conformance/index.ts', spi: 'src/spi/index.ts' },
    external: ['vitest'],
    splitting: true,
  }),
);
