// Stage 2, once every instance dual-writes and verify() is clean: read from NATS, still copy to Redis.
import { createDiscovery, mirrorBackend } from '@roster/core';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';

const backend = mirrorBackend({
  primary: natsBackend({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', namespace: 'orders' }),
  secondary: redisBackend({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace: 'orders' }),
});
const discovery = await createDiscovery({ backend, ttl: 10_000 });
console.log(
  'members read from NATS:',
  discovery
    .list()
    .map((node) => node.id)
    .join(','),
);
await discovery.register({ id: 'orders-1', metadata: { role: 'orders' } });
console.log('in sync:', (await backend.verify()).equal);
await discovery.close({ unregister: false });
