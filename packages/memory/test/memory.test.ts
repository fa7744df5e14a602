import { createDiscovery } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, memoryBackend } from '../src/index.js';

const store = createMemoryStore();
describeConformance({
  name: 'memory',
  createBackend: ({ namespace }) => memoryBackend({ store, namespace }),
  // Downtime longer than the ttl: a record runs out while the feeds are disconnected, so only a
  // resync can tell the watchers.
  faults: { restart: () => store.faults.restart(1_500), pause: (ms) => store.faults.pause(ms) },
});

describe('memory backend', () => {
  it('rejects a second namespace user with another ttl (ConfigMismatchError)', async () => {
    const shared = createMemoryStore();
    const a = await createDiscovery({
      backend: memoryBackend({ store: shared, namespace: 'n' }),
      ttl: 2_000,
    });
    await expect(
      createDiscovery({ backend: memoryBackend({ store: shared, namespace: 'n' }), ttl: 3_000 }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_MISMATCH', message: expect.stringContaining('2000') });
    await a.close();
  });

  it('rejects an invalid namespace', () => {
    expect(() => memoryBackend({ namespace: 'a b' })).toThrow(/namespace/);
  });

  it('backends without a store share the process-wide default store', async () => {
    const a = await createDiscovery({ backend: memoryBackend({ namespace: 'shared-default' }) });
    const b = await createDiscovery({ backend: memoryBackend({ namespace: 'shared-default' }) });
    await a.register({ id: 'x' });
    await expect.poll(() => b.get('x')?.id).toBe('x');
    await a.close();
    await b.close();
  });
});
