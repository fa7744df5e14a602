import { createMemoryStore, memoryBackend } from '@roster/memory';
import type { BenchAdapter } from '../adapter.js';
import { spiBaseline } from '../spi-baseline.js';

/** Every instance on one in-process store; the baseline is the memory backend's SPI without core. */
export async function memoryAdapter(): Promise<BenchAdapter> {
  const store = createMemoryStore();
  const backend = (namespace: string) => memoryBackend({ store, namespace });
  return {
    name: 'memory',
    title: 'Memory',
    server: 'in-process store (no server)',
    backend,
    raw: spiBaseline('memory backend SPI (no core)', backend),
    async close() {},
  };
}
