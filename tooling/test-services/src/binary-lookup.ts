import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Debian puts nats-server in /usr/sbin, which is not on a non-root user's PATH.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'];

/** `PATH`, then the usual system dirs, without duplicates. */
export function defaultSearchPath(): string[] {
  const fromEnv = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir.length > 0);
  return [...new Set([...fromEnv, ...EXTRA_DIRS])];
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface BinarySpec {
  /** Executable name, e.g. `redis-server`. */
  name: string;
  /** Debian package that ships it, for the error message. */
  debianPackage: string;
  /** Environment variable that would point the tests at an existing server instead. */
  envVar: string;
}

/** Absolute path of the binary, or an Error that says how to get it. */
export function findBinary(spec: BinarySpec, searchPath: readonly string[] = defaultSearchPath()): string {
  for (const dir of searchPath) {
    const candidate = join(dir, spec.name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(
    `${spec.name} not found (searched ${searchPath.join(delimiter) || 'nothing'}). ` +
      `Install it with \`apt-get install -y ${spec.debianPackage}\`, ` +
      `or set ${spec.envVar} to a running server, or make a Docker engine available.`,
  );
}
