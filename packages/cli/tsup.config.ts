import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import { rosterTsup } from '../../tooling/tsup-config/index.js';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// The backends stay external: each is an optional peer, loaded with a dynamic import only when
// its URL scheme is used. The build script empties dist/ first: two configs build in parallel, so
// neither may clean.
const shared: Options = {
  clean: false,
  external: ['@roster/memory', '@roster/nats', '@roster/redis', '@roster/etcd'],
  define: { __ROSTER_CLI_VERSION__: JSON.stringify(version) },
};

export default defineConfig([
  // The library (runCli and friends), for ESM and CommonJS users, with types.
  rosterTsup(shared),
  // The `roster` binary: one ESM file, nothing else (no CommonJS twin, no types: nobody imports it).
  // src/bin.ts starts with a shebang, which esbuild keeps (and tsup makes the file executable).
  rosterTsup({ ...shared, entry: { bin: 'src/bin.ts' }, format: ['esm'], dts: false }),
]);
