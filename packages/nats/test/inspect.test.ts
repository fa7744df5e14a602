import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  silentLogger,
} from '@roster/core';
import { freePort, type NatsServiceHandle, startNats } from '@roster/test-services';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { natsBackend } from '../src/index.js';

// inspect(): one stream info request, never a bucket creation (issue 13).
const server: NatsServiceHandle = await startNats();
afterAll(() => server.stop());

let counter = 0;
const fresh = () => `insp${Date.now().toString(36)}${++counter}`;

async function manager() {
  const nc = await connect({ servers: server.url });
  onTestFinished(() => nc.close());
  return jetstreamManager(nc);
}

async function streamNames(): Promise<string[]> {
  const jsm = await manager();
  const names: string[] = [];
  for await (const name of jsm.streams.names()) names.push(name);
  return names.sort();
}

describe('nats backend: inspect()', () => {
  it('an absent namespace does not exist, and the look creates no bucket', async () => {
    const namespace = fresh();
    const before = await streamNames();
    const looker = natsBackend({ servers: server.url, namespace });
    expect(await looker.inspect!()).toEqual({ exists: false });
    expect(await streamNames()).toEqual(before);
    // The same backend still opens afterwards, with any ttl.
    await looker.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => looker.close());
    expect(await streamNames()).toContain(`KV_roster_${namespace}`);
  });

  it('an existing namespace reports its ttl (MaxAge) and the stream is left as it was', async () => {
    const namespace = fresh();
    const app = natsBackend({ servers: server.url, namespace });
    await app.open({ ttl: 7_000, logger: silentLogger });
    onTestFinished(() => app.close());
    await app.put('api-1', new Uint8Array([1]));
    const jsm = await manager();
    const before = await jsm.streams.info(`KV_roster_${namespace}`);
    expect(await natsBackend({ servers: server.url, namespace }).inspect!()).toEqual({
      exists: true,
      ttl: 7_000,
    });
    const after = await jsm.streams.info(`KV_roster_${namespace}`);
    expect(after.state.last_seq).toBe(before.state.last_seq);
    expect(after.created).toBe(before.created);
  });

  it('a fractional ttl reads back as the whole ms the bucket keeps, which opens without a mismatch', async () => {
    const namespace = fresh();
    const app = natsBackend({ servers: server.url, namespace });
    await app.open({ ttl: 10_000 / 3, logger: silentLogger });
    onTestFinished(() => app.close());
    const found = await natsBackend({ servers: server.url, namespace }).inspect!();
    expect(found).toEqual({ exists: true, ttl: 3_334 });
    const reader = natsBackend({ servers: server.url, namespace });
    await reader.open({ ttl: 3_334, logger: silentLogger });
    await reader.close();
  });

  it('uses a connection it is given and leaves it open', async () => {
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    expect(await natsBackend({ connection: nc, namespace: fresh() }).inspect!()).toEqual({ exists: false });
    expect(nc.isClosed()).toBe(false);
  });

  it('a stream of that name without MaxAge is a ConfigMismatchError', async () => {
    const namespace = fresh();
    const jsm = await manager();
    await jsm.streams.add({ name: `KV_roster_${namespace}`, subjects: [`$KV.roster_${namespace}.>`] });
    await expect(natsBackend({ servers: server.url, namespace }).inspect!()).rejects.toBeInstanceOf(
      ConfigMismatchError,
    );
  });

  it('an unreachable server is BackendUnavailableError; a closed backend DiscoveryClosedError', async () => {
    const port = await freePort();
    const down = natsBackend({ servers: `nats://127.0.0.1:${port}`, timeout: 1_000 });
    await expect(down.inspect!()).rejects.toBeInstanceOf(BackendUnavailableError);
    await down.close();
    await expect(down.inspect!()).rejects.toBeInstanceOf(DiscoveryClosedError);
  });
});
