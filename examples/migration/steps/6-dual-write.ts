// Live move, stage 1: keep serving from Redis and copy every write to NATS.
import { createDiscovery, mirrorBackend } from '@roster/core';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';

const backend = mirrorBackend({
  primary: redisBackend({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', namespace: 'orders' }),
  secondary: natsBackend({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', namespace: 'orders' }),
});
const discovery = await createDiscovery({ backend, ttl: 10_000 });
await discovery.register({ id: 'orders-1', metadata: { role: 'orders' } });
await discovery.register({ id: 'orders-2', metadata: { role: 'orders' } });

const diff = await backend.verify(); // waits for the copies, then compares both stores
console.log('in sync:', diff.equal, 'secondary failures:', backend.stats.secondaryFailures);
await discovery.close({ unregister: false }); // a restart of the service: its nodes stay registered
