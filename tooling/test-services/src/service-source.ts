import type { ContainerRuntimeClient } from 'testcontainers';
import { containerRuntime } from './docker.js';

export type SourceChoice =
  | { source: 'env'; url: string }
  | { source: 'container'; runtime: ContainerRuntimeClient }
  | { source: 'binary' };

/** `ROSTER_TEST_SERVICES`: `binary` or `docker` forces a source; unset (or `auto`) picks one. */
export const MODE_ENV_VAR = 'ROSTER_TEST_SERVICES';

/**
 * Order of preference: a URL in `envVar`; else a container when a Docker engine answers; else the
 * server binary. `ROSTER_TEST_SERVICES=binary|docker` skips the Docker check or requires Docker.
 */
export async function chooseSource(envVar: string): Promise<SourceChoice> {
  const url = process.env[envVar]?.trim();
  if (url) return { source: 'env', url };

  const mode = (process.env[MODE_ENV_VAR] ?? '').trim().toLowerCase() || 'auto';
  if (mode === 'binary') return { source: 'binary' };
  if (mode !== 'docker' && mode !== 'auto') {
    throw new Error(
      `${MODE_ENV_VAR} must be "binary", "docker" or unset; got "${process.env[MODE_ENV_VAR]}"`,
    );
  }
  const runtime = await containerRuntime();
  if (runtime) return { source: 'container', runtime };
  if (mode === 'docker') {
    throw new Error(
      `${MODE_ENV_VAR}=docker but no Docker engine answered; start one, or unset ${MODE_ENV_VAR} to use the server binaries`,
    );
  }
  return { source: 'binary' };
}
