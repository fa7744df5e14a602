import { ConfigMismatchError, DiscoveryClosedError, silentLogger } from '@roster/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, memoryBackend } from '../src/index.js';

// inspect(): looks the namespace up in the store's registry without opening it (issue 13).
describe('memory backend: inspect()', () => {
  it('an absent namespace does not exist, and the look creates nothing', async () => {
    const store = createMemoryStore();
    const looker = memoryBackend({ store, namespace: 'absent' });
    expect(await looker.inspect!()).toEqual({ exists: false });
    expect(await memoryBackend({ store, namespace: 'absent' }).inspect!()).toEqual({ exists: false });
    // Had the look created the namespace (with any ttl), this ttl would be refused.
    const app = memoryBackend({ store, namespace: 'absent' });
    await app.open({ ttl: 7_000, logger: silentLogger });
    expect((await app.list()).entries).toEqual([]);
    await app.close();
  });

  it('an existing namespace reports the ttl it was opened with; the same backend then opens with it', async () => {
    const store = createMemoryStore();
    const app = memoryBackend({ store, namespace: 'n' });
    await app.open({ ttl: 7_000, logger: silentLogger });
    await app.put('api-1', new Uint8Array([1]));
    const looker = memoryBackend({ store, namespace: 'n' });
    expect(await looker.inspect!()).toEqual({ exists: true, ttl: 7_000 });
    await looker.open({ ttl: 7_000, logger: silentLogger });
    expect((await looker.get('api-1'))?.value).toEqual(new Uint8Array([1]));
    // Another ttl is still refused at open: inspect() changed nothing about the check.
    await expect(
      memoryBackend({ store, namespace: 'n' }).open({ ttl: 10_000, logger: silentLogger }),
    ).rejects.toBeInstanceOf(ConfigMismatchError);
    await Promise.all([app.close(), looker.close()]);
  });

  it('namespaces of another store are not seen', async () => {
    const app = memoryBackend({ store: createMemoryStore(), namespace: 'n' });
    await app.open({ ttl: 7_000, logger: silentLogger });
    expect(await memoryBackend({ store: createMemoryStore(), namespace: 'n' }).inspect!()).toEqual({
      exists: false,
    });
    await app.close();
  });

  it('after close() it rejects DiscoveryClosedError', async () => {
    const backend = memoryBackend({ store: createMemoryStore() });
    await backend.close();
    await expect(backend.inspect!()).rejects.toBeInstanceOf(DiscoveryClosedError);
  });
});
