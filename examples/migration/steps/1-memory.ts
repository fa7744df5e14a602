// Before: the embedded default. Every instance of one process shares the memory store.
import { createDiscovery } from '@roster/core';
import { memoryBackend } from '@roster/memory';

const discovery = await createDiscovery({
  backend: memoryBackend({ namespace: 'shop' }),
  ttl: 10_000,
});
await discovery.register({ id: 'api-1', address: '10.0.0.5:8080', metadata: { role: 'api' } });
console.log(
  'members:',
  discovery
    .list()
    .map((node) => node.id)
    .join(','),
);
await discovery.close();
