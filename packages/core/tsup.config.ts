import { defineConfig } from 'tsup';

// Two entries, as vercel/ai ships its test helpers: the library, and `./conformance`
// (the shared suite), which imports vitest. vitest stays external: an optional peer.
export default defineConfig({
  entry: { index: 'src/index.ts', conformance: 'src/conformance/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['vitest'],
});
