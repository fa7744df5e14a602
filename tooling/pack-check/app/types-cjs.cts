// The CommonJS side of the types (a .cts file compiles to require()).
import { createDiscovery } from '@roster/core';
import { BackendLifecycle } from '@roster/core/spi';
import { memoryBackend } from '@roster/memory';

export async function use(): Promise<number> {
  const discovery = await createDiscovery({ backend: memoryBackend() });
  void BackendLifecycle;
  return discovery.list().length;
}
