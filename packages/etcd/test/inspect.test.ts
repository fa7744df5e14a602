import {
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  silentLogger,
} from '@roster/core';
import { freePort, startEtcd } from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { etcdBackend } from '../src/index.js';

// inspect(): one range read of the config key, never the opening transaction or a lease (issue 13).
const server = await startEtcd();
afterAll(() => server.stop());

let counter = 0;
const fresh = () => `insp${Date.now().toString(36)}${++counter}`;

function raw(): Etcd3 {
  const client = new Etcd3({ hosts: server.url });
  onTestFinished(() => client.close());
  return client;
}

/** The store's revision and lease count: any write or lease grant moves one of them. */
async function state(client: Etcd3): Promise<{ revision: string; leases: number }> {
  const all = Buffer.from([0]);
  const range = await client.kv.range({ key: all, range_end: all, count_only: true });
  const leases = await client.leaseClient.leaseLeases({});
  return { revision: range.header.revision, leases: leases.leases.length };
}

describe('etcd backend: inspect()', () => {
  it('an absent namespace does not exist, and the look writes nothing and grants no lease', async () => {
    const namespace = fresh();
    const client = raw();
    const before = await state(client);
    const looker = etcdBackend({ hosts: server.url, namespace });
    expect(await looker.inspect!()).toEqual({ exists: false });
    expect(await state(client)).toEqual(before);
    // The same backend still opens afterwards, with any ttl.
    await looker.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => looker.close());
    expect((await client.get(`roster/${namespace}/config`).string()) ?? '').toContain('"ttl":7000');
  });

  it('an existing namespace reports its ttl, and nothing is written', async () => {
    const namespace = fresh();
    const client = raw();
    const app = etcdBackend({ hosts: server.url, namespace });
    await app.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => app.close());
    await app.put('api-1', new Uint8Array([1]));
    // Closed, so that it grants no spare lease in the background while we compare.
    await app.close();
    const before = await state(client);
    expect(await etcdBackend({ hosts: server.url, namespace }).inspect!()).toEqual({
      exists: true,
      ttl: 7_000,
    });
    expect(await state(client)).toEqual(before);
  });

  it('a config Roster cannot read is a ConfigMismatchError', async () => {
    const namespace = fresh();
    await raw().put(`roster/${namespace}/config`).value('{"v":2,"ttl":"soon"}');
    await expect(etcdBackend({ hosts: server.url, namespace }).inspect!()).rejects.toBeInstanceOf(
      ConfigMismatchError,
    );
  });

  it('uses a client it is given and leaves it usable', async () => {
    const client = raw();
    expect(await etcdBackend({ client, namespace: fresh() }).inspect!()).toEqual({ exists: false });
    expect(await client.get('anything').string()).toBeNull();
  });

  it('an unreachable server is BackendUnavailableError; a closed backend DiscoveryClosedError', async () => {
    const port = await freePort();
    const down = etcdBackend({ hosts: `http://127.0.0.1:${port}`, connectTimeout: 1_000 });
    await expect(down.inspect!()).rejects.toBeInstanceOf(BackendUnavailableError);
    await down.close();
    await expect(down.inspect!()).rejects.toBeInstanceOf(DiscoveryClosedError);
  });
});
