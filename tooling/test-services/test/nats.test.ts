import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNats } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, natsPing, natsRequest } from './support/raw-protocols.js';

useServerBinaries();

interface Jsz {
  streams: number;
  messages: number;
  config: { store_dir: string };
}

async function jsz(monitorUrl: string | undefined): Promise<Jsz> {
  const response = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as Jsz;
}

describe('startNats (binary)', () => {
  it('starts nats-server with JetStream on loopback and answers PING', async () => {
    const server = await startNats();
    expect(server).toMatchObject({ kind: 'nats', source: 'binary' });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(server.monitorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const info = await natsPing(server.url);
    expect(info.jetstream).toBe(true);
    expect(info.port).toBe(Number(new URL(server.url).port));
    await server.stop();
  });

  it('restart and kill + restart come back on the same port with the file-stored stream intact', async () => {
    const server = await startNats();
    const created = await natsRequest(
      server.url,
      '$JS.API.STREAM.CREATE.ORDERS',
      JSON.stringify({ name: 'ORDERS', subjects: ['orders.>'], storage: 'file' }),
    );
    expect(JSON.parse(created)).toMatchObject({ config: { name: 'ORDERS', storage: 'file' } });
    expect(JSON.parse(await natsRequest(server.url, 'orders.1', 'hello'))).toMatchObject({
      stream: 'ORDERS',
      seq: 1,
    });

    const before = await natsPing(server.url);
    await server.restart();
    const afterRestart = await natsPing(server.url);
    expect(afterRestart.jetstream).toBe(true);
    expect(afterRestart.server_id).not.toBe(before.server_id); // a new process, same port
    expect(await jsz(server.monitorUrl)).toMatchObject({ streams: 1, messages: 1 });

    await server.kill();
    expect(await isRefused(server.url)).toBe(true);
    await server.restart();
    expect(await jsz(server.monitorUrl)).toMatchObject({ streams: 1, messages: 1 });
    await server.stop();
  });

  it('pause freezes the server, then it answers again', async () => {
    const server = await startNats();
    const paused = server.pause(800);
    await expect(natsPing(server.url, { timeoutMs: 300 })).rejects.toThrow(/timeout/);
    await paused;
    await expect(natsPing(server.url, { timeoutMs: 1_000 })).resolves.toMatchObject({ jetstream: true });
    await server.stop();
  });

  it('requires the user and password it was given', async () => {
    const server = await startNats({ user: 'roster', password: 'pw' });
    await expect(natsPing(server.url)).rejects.toThrow(/Authorization Violation/);
    await expect(natsPing(server.url, { user: 'roster', pass: 'pw' })).resolves.toMatchObject({
      auth_required: true,
    });
    await server.stop();
  });

  it('uses a given store dir and leaves it in place on stop', async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'roster-test-store-'));
    try {
      const server = await startNats({ storeDir });
      expect((await jsz(server.monitorUrl)).config.store_dir).toBe(join(storeDir, 'jetstream'));
      await server.stop();
      expect(existsSync(join(storeDir, 'jetstream'))).toBe(true);
    } finally {
      rmSync(storeDir, { recursive: true, force: true });
    }
  });

  it('takes a config file, e.g. a user whose permissions stop at some subjects', async () => {
    const server = await startNats({
      config: `authorization { users: [ { user: app, password: pw, permissions: {
        publish: ["allowed.>", "_INBOX.>"], subscribe: ["_INBOX.>"] } } ] }`,
    });
    const app = { user: 'app', pass: 'pw' };
    await expect(natsPing(server.url)).rejects.toThrow(/Authorization Violation/);
    await expect(natsRequest(server.url, 'denied.x', 'hi', 2_000, app)).rejects.toThrow(
      /Permissions Violation for Publish to "denied.x"/,
    );
    // No responder on allowed.x: the publish is accepted, so the request times out rather than erroring.
    await expect(natsRequest(server.url, 'allowed.x', 'hi', 500, app)).rejects.toThrow(/timeout/);
    expect(await natsPing(server.url, app)).toMatchObject({ jetstream: true }); // the flags still apply
    await server.stop();
  });
});
