// TEMPORARY (redis isolation helper): logs list()/watch() of the frozen-member case. Deleted after use.
import type { DiscoveryBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { type RedisSentinelHandle, startRedisSentinel } from '@roster/test-services';
import { afterAll, beforeEach } from 'vitest';
import { redisBackend } from '../src/index.js';

const topology: RedisSentinelHandle = await startRedisSentinel({ replicas: 1 });
afterAll(() => topology.stop());
beforeEach(() => topology.waitUntilHealthy(), 40_000);
const t0 = Date.now();
let n = 0;
const log = (...a: unknown[]) => process.stderr.write(`DBG ${Date.now() - t0} ${a.join(' ')}\n`);

function traced(namespace: string): DiscoveryBackend {
  const backend = redisBackend({
    sentinels: topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: topology.name,
    namespace,
  });
  const id = ++n;
  return {
    name: backend.name,
    get supports() {
      return backend.supports;
    },
    open: (c) => backend.open(c),
    put: (k, v, o) => backend.put(k, v, o),
    delete: (k, c) => backend.delete(k, c),
    get: (k) => backend.get(k),
    list: async () => {
      const s = await backend.list();
      log(`#${id} list ${s.cursor} ${s.entries.map((e) => `${e.key}@${e.revision}`).join(',')}`);
      return s;
    },
    watch: (cursor, on) => {
      log(`#${id} watch from ${cursor}`);
      return backend.watch(cursor, (ch) => {
        log(`#${id} change ${ch.type} ${'key' in ch ? ch.key : ''} ${'revision' in ch ? ch.revision : ''} ${'reason' in ch ? ch.reason : ''}`);
        on(ch);
      });
    },
    history: (k, l) => backend.history!(k, l),
    close: () => backend.close(),
  };
}

describeConformance({
  name: 'debug sentinel',
  createBackend: ({ namespace }) => traced(namespace),
  faults: {
    restart: () => topology.restart(),
    pause: (ms) => topology.pause(ms),
    failover: async () => void (await topology.failover()),
    isolate: async (ms) => {
      log('FREEZE');
      await topology.isolate((await topology.primary()).index ?? 0, ms);
      log('THAWED');
    },
    failoverTtl: 10_000,
  },
});
