import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds dist/ when it is missing or older than src/: the tests run the binary a user would run. */
export default function setup(): void {
  let built = 0;
  try {
    built = statSync(join(root, 'dist/bin.js')).mtimeMs;
  } catch {}
  if (built >= newest(join(root, 'src'))) return;
  execFileSync(join(root, 'node_modules/.bin/tsup'), { cwd: root, stdio: 'inherit' });
}
