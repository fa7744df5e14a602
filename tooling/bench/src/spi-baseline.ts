import { type DiscoveryBackend, silentLogger } from '@roster/core';
import type { RawBaseline } from './adapter.js';

/**
 * A baseline made of the backend's own SPI calls with core left out: `put` for a write,
 * `put` → another instance's `watch` for propagation, `list` + `JSON.parse` for a sync, a TTL'd
 * `put` → `delete` `expired` for expiry (when the backend reports expiry). What it measures is
 * the cost core adds on top of the storage. The memory backend has no other "raw client"; a
 * custom backend gets a baseline for free with it.
 */
export function spiBaseline(
  client: string,
  createBackend: (namespace: string) => DiscoveryBackend,
  defaultTtl = 60_000,
): RawBaseline {
  async function open(namespace: string, ttl = defaultTtl): Promise<DiscoveryBackend> {
    const backend = createBackend(namespace);
    await backend.open({ ttl, logger: silentLogger });
    return backend;
  }
  return {
    client,
    writeLabel: 'backend put (no core)',
    async writer(namespace, ttl) {
      const backend = await open(`spi-${namespace}`, ttl);
      return {
        async write(key, value) {
          await backend.put(key, value);
        },
        close: () => backend.close(),
      };
    },
    feedLabel: 'backend put → another backend instance’s watch',
    async feed(namespace) {
      const writer = await open(`spi-${namespace}`);
      const reader = await open(`spi-${namespace}`);
      const listeners: ((key: string) => void)[] = [];
      const snapshot = await reader.list();
      const watch = reader.watch(snapshot.cursor, (change) => {
        if (change.type === 'put') for (const listener of listeners) listener(change.key);
      });
      return {
        async put(key, value) {
          await writer.put(key, value);
        },
        onPut: (listener) => listeners.push(listener),
        async close() {
          await watch.stop();
          await Promise.all([writer.close(), reader.close()]);
        },
      };
    },
    listLabel: 'backend list + JSON.parse',
    async listParse(namespace, _expected, ttl) {
      const backend = await open(namespace, ttl);
      const decoder = new TextDecoder();
      const { entries } = await backend.list();
      let parsed = 0;
      for (const entry of entries) if (JSON.parse(decoder.decode(entry.value))) parsed++;
      await backend.close();
      return parsed;
    },
    expiry: {
      label: 'TTL put → delete expired',
      async open(namespace, ttl, onExpired) {
        const backend = await open(`spi-exp-${namespace}`, ttl);
        const snapshot = await backend.list();
        const watch = backend.watch(snapshot.cursor, (change) => {
          if (change.type === 'delete' && change.reason === 'expired') onExpired(change.key);
        });
        const value = new TextEncoder().encode('{"v":0}');
        return {
          async write(key) {
            await backend.put(key, value);
          },
          async close() {
            await watch.stop();
            await backend.close();
          },
        };
      },
    },
  };
}
