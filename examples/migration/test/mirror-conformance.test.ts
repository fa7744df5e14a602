import { mirrorBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';
import { type ServiceHandle, startNats, startRedis } from '@roster/test-services';
import { afterAll, beforeAll } from 'vitest';

// The mirror over a real pair — Redis primary, NATS secondary — passes the whole suite.
let redis: ServiceHandle;
let nats: ServiceHandle;
beforeAll(async () => {
  [redis, nats] = await Promise.all([startRedis({ appendonly: true }), startNats()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), nats?.stop()]);
});

describeConformance({
  name: 'mirror (redis → nats)',
  createBackend: ({ namespace }) =>
    mirrorBackend({
      primary: redisBackend({ url: redis.url, namespace }),
      secondary: natsBackend({ servers: nats.url, namespace }),
    }),
  faults: { restart: () => redis.restart(), pause: (ms) => redis.pause(ms) },
});
