import { afterAll, beforeAll, vi } from 'vitest';
import { stopAllServices } from '../../src/index.js';

/**
 * These tests are about the binary path (processes, signals, data dirs): force it even where a
 * Docker engine runs, ignore URLs from the environment, and stop whatever a file started.
 */
export function useServerBinaries(): void {
  beforeAll(() => {
    vi.stubEnv('ROSTER_TEST_SERVICES', 'binary');
    vi.stubEnv('ROSTER_NATS_URL', undefined);
    vi.stubEnv('ROSTER_REDIS_URL', undefined);
    vi.stubEnv('ROSTER_ETCD_URL', undefined);
  });
  afterAll(async () => {
    await stopAllServices();
    vi.unstubAllEnvs();
  });
}
