import {
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  silentLogger,
} from '@roster/core';
import { freePort, startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';

// inspect(): one HGETALL of the config hash, never the open script (issue 13).
const server = await startRedis();
afterAll(() => server.stop());

let counter = 0;
const fresh = () => `insp${Date.now().toString(36)}${++counter}`;

function raw(): Redis {
  const client = new Redis(server.url);
  onTestFinished(() => client.disconnect());
  return client;
}

/**
 * The keys of the namespace, read by the raw client, without the sweep leases: an open backend
 * moves between them on its own (standby, then sweeper) whatever inspect() does.
 */
async function keysOf(client: Redis, namespace: string): Promise<string[]> {
  const keys = await client.keys(`{roster:${namespace}}*`);
  return keys.filter((key) => !/:(sweeper|standby)$/.test(key)).sort();
}

describe('redis backend: inspect()', () => {
  it('an absent namespace does not exist, and the look writes no key', async () => {
    const namespace = fresh();
    const client = raw();
    const looker = redisBackend({ url: server.url, namespace });
    expect(await looker.inspect!()).toEqual({ exists: false });
    expect(await keysOf(client, namespace)).toEqual([]);
    // The same backend still opens afterwards, with any ttl.
    await looker.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => looker.close());
    expect(await client.hget(`{roster:${namespace}}:config`, 'ttl')).toBe('7000');
  });

  it('an existing namespace reports its ttl, and every key is left as it was', async () => {
    const namespace = fresh();
    const client = raw();
    const app = redisBackend({ url: server.url, namespace });
    await app.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => app.close());
    await app.put('api-1', new Uint8Array([1]));
    const seq = await client.get(`{roster:${namespace}}:seq`);
    const keys = await keysOf(client, namespace);
    expect(await redisBackend({ url: server.url, namespace }).inspect!()).toEqual({
      exists: true,
      ttl: 7_000,
    });
    expect(await client.get(`{roster:${namespace}}:seq`)).toBe(seq);
    expect(await keysOf(client, namespace)).toEqual(keys);
  });

  it('a fractional ttl reads back exactly', async () => {
    const namespace = fresh();
    const app = redisBackend({ url: server.url, namespace });
    await app.open({ ttl: 10_000 / 3, logger: silentLogger });
    onTestFinished(() => app.close());
    expect(await redisBackend({ url: server.url, namespace }).inspect!()).toEqual({
      exists: true,
      ttl: 10_000 / 3,
    });
  });

  it('a config of another layout or with an unreadable ttl is a ConfigMismatchError', async () => {
    const client = raw();
    const old = fresh();
    await client.hset(`{roster:${old}}:config`, 'ttl', '7000', 'layout', '1');
    await expect(redisBackend({ url: server.url, namespace: old }).inspect!()).rejects.toBeInstanceOf(
      ConfigMismatchError,
    );
    const garbled = fresh();
    await client.hset(`{roster:${garbled}}:config`, 'ttl', 'soon', 'layout', '2');
    await expect(redisBackend({ url: server.url, namespace: garbled }).inspect!()).rejects.toBeInstanceOf(
      ConfigMismatchError,
    );
  });

  it('uses a client it is given and leaves it connected', async () => {
    const client = raw();
    expect(await redisBackend({ client, namespace: fresh() }).inspect!()).toEqual({ exists: false });
    expect(await client.ping()).toBe('PONG');
  });

  it('an unreachable server is BackendUnavailableError; a closed backend DiscoveryClosedError', async () => {
    const port = await freePort();
    const down = redisBackend({ url: `redis://127.0.0.1:${port}`, requestTimeout: 1_000 });
    await expect(down.inspect!()).rejects.toBeInstanceOf(BackendUnavailableError);
    await down.close();
    await expect(down.inspect!()).rejects.toBeInstanceOf(DiscoveryClosedError);
  });
});
