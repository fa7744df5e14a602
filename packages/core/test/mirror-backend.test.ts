import { describe, expect, it } from 'vitest';
import { describeConformance } from '../src/conformance/index.js';
import { createDiscovery } from '../src/discovery.js';
import { BackendUnavailableError } from '../src/errors.js';
import { mirrorBackend } from '../src/mirror-backend.js';
import type { DiscoveryBackend } from '../src/spi/discovery-backend.js';
import { mapBackend } from './fixtures/map-backend.js';

describeConformance({
  name: 'mirror (map → map)',
  createBackend: ({ namespace }) =>
    mirrorBackend({
      primary: mapBackend({ namespace }),
      secondary: mapBackend({ namespace: `${namespace}-copy` }),
    }),
});

function broken(): DiscoveryBackend {
  const fail = async () => {
    throw new BackendUnavailableError('secondary down');
  };
  return {
    name: 'broken',
    supports: { persistent: false, history: false, nativeExpiryEvents: true },
    open: fail,
    put: fail,
    delete: fail,
    get: fail,
    list: fail,
    watch: () => {
      throw new BackendUnavailableError('secondary down');
    },
    close: async () => {},
  };
}

describe('mirrorBackend', () => {
  it('copies every write to the secondary, and verify() finds no difference', async () => {
    const backend = mirrorBackend({
      primary: mapBackend({ namespace: 'm1' }),
      secondary: mapBackend({ namespace: 'm1-copy' }),
    });
    const discovery = await createDiscovery({ backend, ttl: 5_000 });
    await discovery.register({ id: 'a', metadata: { role: 'api' } });
    await discovery.register({ id: 'b' });
    await discovery.heartbeat('a', 3);
    await discovery.unregister('b');
    const diff = await backend.verify();
    expect(diff).toEqual({ missing: [], extra: [], changed: [], equal: true });
    expect(backend.stats).toMatchObject({ secondaryWrites: 4, secondaryFailures: 0, pending: 0 });
    const secondary = mapBackend({ namespace: 'm1-copy' });
    await secondary.open({ ttl: 5_000, logger: console });
    expect((await secondary.list()).entries.map((e) => e.key)).toEqual(['a']);
    await discovery.close();
  });

  it('reports what differs', async () => {
    const primary = mapBackend({ namespace: 'm2' });
    const secondary = mapBackend({ namespace: 'm2-copy' });
    const backend = mirrorBackend({ primary, secondary });
    const discovery = await createDiscovery({ backend, ttl: 5_000 });
    await discovery.register({ id: 'a' });
    await discovery.register({ id: 'b' });
    await backend.verify();
    await secondary.delete('a');
    const stray = mapBackend({ namespace: 'm2-copy' });
    await stray.open({ ttl: 5_000, logger: console });
    const c = (await primary.get('b'))!.value;
    await stray.put(
      'b',
      new TextEncoder().encode(new TextDecoder().decode(c).replace('"load":0', '"load":7')),
    );
    const diff = await backend.verify();
    expect(diff.missing).toEqual(['a']);
    expect(diff.changed.map((d) => [d.id, d.expected.load, d.actual.load])).toEqual([['b', 0, 7]]);
    expect(diff.equal).toBe(false);
    await discovery.close();
  });

  it('a failing secondary is logged and counted, never fails the application', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) };
    const backend = mirrorBackend({ primary: mapBackend({ namespace: 'm3' }), secondary: broken() });
    const discovery = await createDiscovery({ backend, ttl: 5_000, logger });
    await discovery.register({ id: 'a' });
    await discovery.heartbeat('a', 1);
    await discovery.unregister('a');
    await expect(backend.verify()).rejects.toThrow(/secondary/);
    expect(backend.stats.secondaryFailures).toBeGreaterThanOrEqual(1);
    expect(warnings.some((w) => w.includes('secondary broken backend failed'))).toBe(true);
    await discovery.close();
  });
});
