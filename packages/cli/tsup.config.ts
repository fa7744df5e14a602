import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// The backends stay external: each is an optional peer, loaded with a dynamic import only when
// its URL scheme is used. src/bin.ts starts with a shebang, which esbuild keeps (and tsup makes the file executable).
export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['@roster/memory', '@roster/nats', '@roster/redis', '@roster/etcd'],
  define: { __ROSTER_CLI_VERSION__: JSON.stringify(version) },
});
