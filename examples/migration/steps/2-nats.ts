// After: the same code on NATS JetStream KV. Only the backend line changed.
import { createDiscovery } from '@roster/core';
import { natsBackend } from '@roster/nats';

const discovery = await createDiscovery({
  backend: natsBackend({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', namespace: 'shop' }),
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
