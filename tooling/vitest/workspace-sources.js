// Tests import the workspace packages from their TypeScript sources, not from dist/: a clone that
// was only installed can run `pnpm --filter <pkg> test`, and an edit in packages/core/src is seen
// by every package's tests without a rebuild. (Child processes that a test spawns — SIGKILL
// fixtures, the CLI binary — still run the built files; see build-dependencies.js.)
// ROSTER_TEST_FROM=dist switches this off and tests the built files in-process too.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Package specifier → its source entry, as each package's tsup config builds it. */
const ENTRIES = {
  '@roster/core/conformance': 'packages/core/src/conformance/index.ts',
  '@roster/core/spi': 'packages/core/src/spi/index.ts',
  '@roster/core': 'packages/core/src/index.ts',
  '@roster/memory': 'packages/memory/src/index.ts',
  '@roster/nats': 'packages/nats/src/index.ts',
  '@roster/redis': 'packages/redis/src/index.ts',
  '@roster/etcd': 'packages/etcd/src/index.ts',
  '@roster/cli': 'packages/cli/src/index.ts',
  '@roster/test-services': 'tooling/test-services/src/index.ts',
};

/** vite `resolve.alias` entries (exact matches, so `@roster/core` never catches `@roster/core/conformance`). */
export function workspaceSourceAliases() {
  if (process.env.ROSTER_TEST_FROM === 'dist') return [];
  return Object.entries(ENTRIES).map(([name, entry]) => ({
    find: new RegExp(`^${name.replace(/[/]/g, '\\/')}$`),
    replacement: root + entry,
  }));
}
