// Stage 3: NATS alone. Redis can be retired once no instance writes to it any more.
import { createDiscovery } from '@roster/core';
import { natsBackend } from '@roster/nats';

const discovery = await createDiscovery({
  backend: natsBackend({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', namespace: 'orders' }),
  ttl: 10_000,
});
console.log(
  'members:',
  discovery
    .list()
    .map((node) => node.id)
    .join(','),
);
await discovery.close();
