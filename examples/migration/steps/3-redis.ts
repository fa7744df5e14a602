// The same line for Redis (credentials in the URL or as ioredis options).
import { createDiscovery } from '@roster/core';
import { redisBackend } from '@roster/redis';

const discovery = await createDiscovery({
  backend: redisBackend({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace: 'shop' }),
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
