import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError, createDiscovery } from '@roster/core';
import { startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';
import { captureLogger, ensureBuilt, freshNamespace, TTL } from './helpers.js';

// Rule 14 of docs/guarantees.md, on a server of its own: freezing the shared one would stall other files.
const server = await startRedis();
afterAll(() => server.stop());

const REQUEST_TIMEOUT = 1_000;
/** Event-loop and scheduling slack on a loaded 2-core machine; the bound itself is the request timeout. */
const SLACK = 400;
const encode = (text: string) => new TextEncoder().encode(text);

/** How long `call` took to settle, and how (it must settle: the test's own timeout catches a hang). */
async function timed(call: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await call;
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

/** A TCP server that accepts connections and never answers: a server behind a dead proxy or a black hole. */
async function blackhole(): Promise<string> {
  const sockets = new Set<Socket>();
  const hole = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hole.close(resolve));
  });
  const address = hole.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `redis://127.0.0.1:${address.port}`;
}

describe('redis: request timeout (rule 14)', () => {
  beforeAll(() => ensureBuilt(), 60_000);

  it('while the server is frozen, put, refresh, delete, get, list, history and close each settle within requestTimeout', async () => {
    const namespace = freshNamespace('frz');
    const backend = redisBackend({ url: server.url, namespace, requestTimeout: REQUEST_TIMEOUT });
    await backend.open({ ttl: 5_000, logger: captureLogger() });
    const first = await backend.put('frozen-1', encode('{"n":1}'));
    if (!first.ok) throw new Error('put failed');
    await server.suspend();
    onTestFinished(() => server.resume());
    const calls = {
      put: backend.put('frozen-2', encode('{"n":2}')),
      refresh: backend.put('frozen-1', encode('{"n":1}'), {
        expectedRevision: first.revision,
        refreshOnly: true,
      }),
      delete: backend.delete('frozen-1', { expectedRevision: first.revision }),
      get: backend.get('frozen-1'),
      list: backend.list(),
      history: backend.history!('frozen-1', 5),
    };
    const results = await Promise.all(Object.values(calls).map(timed));
    const closing = await timed(backend.close());
    for (const [index, what] of Object.keys(calls).entries()) {
      const { ms, error } = results[index]!;
      expect(error, `${what} rejects BackendUnavailableError`).toBeInstanceOf(BackendUnavailableError);
      expect(ms, `${what} settles within the request timeout`).toBeLessThanOrEqual(REQUEST_TIMEOUT + SLACK);
    }
    // close() after the calls timed out: the server is known silent, no goodbye is waited for.
    expect(closing.error).toBeUndefined();
    expect(closing.ms).toBeLessThanOrEqual(SLACK);
  }, 20_000);

  it('calls made one after another share one request timeout from the freeze (core closes this way)', async () => {
    const namespace = freshNamespace('seq');
    const backend = redisBackend({ url: server.url, namespace, requestTimeout: REQUEST_TIMEOUT });
    await backend.open({ ttl: 5_000, logger: captureLogger() });
    await server.suspend();
    onTestFinished(() => server.resume());
    const started = Date.now();
    await expect(backend.get('a')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(backend.delete('a')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(backend.list()).rejects.toBeInstanceOf(BackendUnavailableError);
    await backend.close();
    expect(Date.now() - started).toBeLessThanOrEqual(REQUEST_TIMEOUT + SLACK);
    // After the thaw a new backend works: the silence was per connection.
    await server.resume();
    const again = redisBackend({ url: server.url, namespace, requestTimeout: REQUEST_TIMEOUT });
    await again.open({ ttl: 5_000, logger: captureLogger() });
    onTestFinished(() => again.close());
    expect((await again.put('b', encode('{}'))).ok).toBe(true);
  }, 20_000);

  it('a backend whose server freezes answers again once it thaws', async () => {
    const namespace = freshNamespace('thaw');
    const backend = redisBackend({ url: server.url, namespace, requestTimeout: REQUEST_TIMEOUT });
    await backend.open({ ttl: 5_000, logger: captureLogger() });
    onTestFinished(() => backend.close());
    const paused = server.pause(REQUEST_TIMEOUT + 300);
    await expect(backend.put('late-1', encode('{}'))).rejects.toBeInstanceOf(BackendUnavailableError);
    await paused;
    const written = await backend.put('late-2', encode('{}'));
    expect(written.ok).toBe(true);
    expect((await backend.get('late-2'))?.revision).toBe(written.ok ? written.revision : -1);
  }, 20_000);

  it('open() against a frozen server or a black hole rejects BackendUnavailableError within requestTimeout', async () => {
    const hole = await blackhole();
    await server.suspend();
    onTestFinished(() => server.resume());
    for (const url of [server.url, hole]) {
      const result = await timed(
        createDiscovery({ backend: redisBackend({ url, requestTimeout: REQUEST_TIMEOUT }), ttl: TTL }),
      );
      expect(result.error, url).toBeInstanceOf(BackendUnavailableError);
      expect(result.ms, url).toBeLessThanOrEqual(REQUEST_TIMEOUT + SLACK);
    }
  }, 20_000);

  it('register, heartbeat, unregister and close through core settle within requestTimeout behind a frozen server', async () => {
    const namespace = freshNamespace('core');
    const discovery = await createDiscovery({
      backend: redisBackend({ url: server.url, namespace, requestTimeout: REQUEST_TIMEOUT }),
      ttl: 5_000,
      autoHeartbeat: false,
    });
    await discovery.register({ id: 'core-1' });
    await server.suspend();
    onTestFinished(() => server.resume());
    const results = await Promise.all([
      timed(discovery.register({ id: 'core-2' })),
      timed(discovery.heartbeat('core-1', 1)),
      timed(discovery.unregister('core-1')),
      timed(discovery.close()),
    ]);
    for (const [index, what] of ['register', 'heartbeat', 'unregister', 'close'].entries())
      expect(results[index]!.ms, what).toBeLessThanOrEqual(REQUEST_TIMEOUT + SLACK);
    expect(results[3]!.error).toBeUndefined();
  }, 20_000);

  it('a process whose open() failed and whose server froze before close() exits on its own', async () => {
    const hole = await blackhole();
    const namespace = freshNamespace('exit');
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/close-exits.mjs', import.meta.url)), hole, server.url, namespace],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines: Record<string, { ms?: number; code?: string; error?: string }> = {};
    let output = '';
    let closedAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (;;) {
        const end = output.indexOf('\n');
        if (end < 0) break;
        const line = JSON.parse(output.slice(0, end)) as { step: string; ms?: number; code?: string };
        output = output.slice(end + 1);
        lines[line.step] = line;
        if (line.step === 'opened') void server.suspend().then(() => child.stdin.end('go\n'));
        if (line.step === 'closed') closedAt = Date.now();
      }
    });
    onTestFinished(() => server.resume());
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lingered = Date.now() - closedAt;
    await server.resume();
    expect(lines['failed-open']).toMatchObject({ code: 'ERR_BACKEND_UNAVAILABLE' });
    expect(lines['failed-open']!.ms).toBeLessThanOrEqual(500 + SLACK);
    expect(lines.closed!.ms).toBeLessThanOrEqual(500 + SLACK);
    expect(exitCode).toBe(0);
    // Nothing kept it alive: only the socket teardown (200 ms disconnect timeout) may remain.
    expect(lingered).toBeLessThanOrEqual(200 + SLACK);
  }, 20_000);
});
