import { describe, expect, it } from 'vitest';
import { diffBackends } from '../src/backend-diff.js';
import { waitFor } from '../src/conformance/harness.js';
import { createDiscovery } from '../src/discovery.js';
import { copyRecords, followRecords } from '../src/namespace-copy.js';
import type { DiscoveryBackend } from '../src/spi/discovery-backend.js';
import { mapBackend } from './fixtures/map-backend.js';

async function opened(namespace: string): Promise<DiscoveryBackend> {
  const backend = mapBackend({ namespace });
  await backend.open({ ttl: 5_000, logger: console });
  return backend;
}

describe('copyRecords / followRecords', () => {
  it('copies every record byte for byte (instanceId, registeredAt kept), skipping foreign values', async () => {
    const source = await createDiscovery({ backend: mapBackend({ namespace: 'cp-src' }), ttl: 5_000 });
    const a = await source.register({ id: 'a', metadata: { role: 'api' } });
    await source.register({ id: 'b', load: 2 });
    const from = await opened('cp-src');
    await from.put('junk', new TextEncoder().encode('not a record'));
    const to = await opened('cp-dst');
    const seen: number[] = [];
    const result = await copyRecords(from, to, { onProgress: (copied) => seen.push(copied) });
    expect(result).toMatchObject({ copied: 2, skipped: 1, pruned: 0 });
    expect(seen).toEqual([1, 2]);
    expect((await to.get('a'))?.value).toEqual((await from.get('a'))?.value);
    expect(await to.get('junk')).toBeUndefined();
    expect((await diffBackends(from, to)).equal).toBe(true);
    const target = await createDiscovery({ backend: mapBackend({ namespace: 'cp-dst' }), ttl: 5_000 });
    expect(target.get('a')).toMatchObject({ instanceId: a.instanceId, registeredAt: a.registeredAt });
    await source.close();
    await target.close({ unregister: false });
  });

  it('follows changes until aborted', async () => {
    const source = await createDiscovery({ backend: mapBackend({ namespace: 'fl-src' }), ttl: 5_000 });
    await source.register({ id: 'a' });
    const from = await opened('fl-src');
    const to = await opened('fl-dst');
    const { cursor } = await copyRecords(from, to);
    const controller = new AbortController();
    const following = followRecords(from, to, cursor, { signal: controller.signal });
    await source.register({ id: 'b' });
    await source.heartbeat('a', 5);
    await source.unregister('a');
    await waitFor('b copied and a removed', async () => (await to.get('b')) && !(await to.get('a')));
    controller.abort();
    await following;
    expect((await diffBackends(from, to)).equal).toBe(true);
    await source.close();
  });
});

describe('followRecords from a backend with silent heartbeats', () => {
  /** A source whose plain heartbeats never reach its feed (as on etcd and Redis). */
  function silent(inner: DiscoveryBackend): DiscoveryBackend {
    return {
      ...inner,
      get supports() {
        return { ...inner.supports, silentHeartbeats: true };
      },
    };
  }

  it('needs the ttl, and rejects InvalidOptionsError without it', async () => {
    const from = silent(await opened('sh-src-0'));
    const to = await opened('sh-dst-0');
    await expect(
      followRecords(from, to, (await from.list()).cursor, { signal: new AbortController().signal }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
  });

  it('keeps the copies alive at the target while the source holds them, without undoing later changes', async () => {
    const from = silent(mapBackend({ namespace: 'sh-src' }));
    await from.open({ ttl: 60_000, logger: console });
    const to = mapBackend({ namespace: 'sh-dst' });
    await to.open({ ttl: 1_000, logger: console });
    const source = await createDiscovery({ backend: mapBackend({ namespace: 'sh-src' }), ttl: 60_000 });
    await source.register({ id: 'a' });
    const { cursor } = await copyRecords(from, to);
    const controller = new AbortController();
    const following = followRecords(from, to, cursor, { signal: controller.signal, ttl: 1_000 });
    // A stated period, not a wait for a condition: nothing may expire during it.
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // three target ttls, no source change
    expect(await to.get('a'), 'the copy of a live record expired at the target').toBeDefined();
    await source.register({ id: 'a', load: 7 });
    await waitFor('the load change copied', async () => {
      const entry = await to.get('a');
      return entry && JSON.parse(new TextDecoder().decode(entry.value)).load === 7;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // three more refreshes: none undoes it
    expect(JSON.parse(new TextDecoder().decode((await to.get('a'))!.value)).load).toBe(7);
    controller.abort();
    await following;
    await source.close();
  });
});
