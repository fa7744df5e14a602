// Credentials pass straight through to the client: here a NATS user and password.
import { createDiscovery } from '@roster/core';
import { natsBackend } from '@roster/nats';

const discovery = await createDiscovery({
  backend: natsBackend({
    servers: process.env.NATS_AUTH_URL ?? 'nats://127.0.0.1:4222',
    user: process.env.NATS_USER,
    pass: process.env.NATS_PASSWORD,
    namespace: 'shop',
  }),
  ttl: 10_000,
});
await discovery.register({ id: 'api-1' });
console.log(
  'members:',
  discovery
    .list()
    .map((node) => node.id)
    .join(','),
);
await discovery.close();
