import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startRedis } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, redis } from './support/raw-protocols.js';

useServerBinaries();

describe('startRedis (binary)', () => {
  it('starts redis-server on a loopback port that answers PING, SET and GET', async () => {
    const server = await startRedis();
    expect(server).toMatchObject({ kind: 'redis', source: 'binary' });
    expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await redis(server.url, [['PING'], ['SET', 'k', 'v'], ['GET', 'k']])).toEqual(['PONG', 'OK', 'v']);
    await server.stop();
  });

  it('without appendonly, restart comes back empty on the same URL (no AOF, no RDB)', async () => {
    const server = await startRedis();
    await redis(server.url, [['SET', 'k', 'v']]);
    await server.restart();
    expect(
      await redis(server.url, [
        ['GET', 'k'],
        ['CONFIG', 'GET', 'save'],
      ]),
    ).toEqual([null, ['save', '']]);
    await server.stop();
  });

  it('with appendonly, data survives restart and kill + restart', async () => {
    const server = await startRedis({ appendonly: true });
    expect(await redis(server.url, [['CONFIG', 'GET', 'appendfsync']])).toEqual([['appendfsync', 'always']]);
    await redis(server.url, [['SET', 'before-restart', '1']]);
    await server.restart();
    await redis(server.url, [['SET', 'before-kill', '2']]);
    await server.kill();
    expect(await isRefused(server.url)).toBe(true);
    await server.restart();
    expect(
      await redis(server.url, [
        ['GET', 'before-restart'],
        ['GET', 'before-kill'],
      ]),
    ).toEqual(['1', '2']);
    await server.stop();
  });

  it('pause freezes the server for the given time, then it answers again', async () => {
    const server = await startRedis();
    const paused = server.pause(800);
    await expect(redis(server.url, [['PING']], 300)).rejects.toThrow(/timeout/);
    await paused;
    expect(await redis(server.url, [['PING']], 1_000)).toEqual(['PONG']);
    await server.stop();
  });

  it('suspend holds the server until resume', async () => {
    const server = await startRedis();
    await server.suspend();
    await expect(redis(server.url, [['PING']], 300)).rejects.toThrow(/timeout/);
    await server.resume();
    expect(await redis(server.url, [['PING']], 1_000)).toEqual(['PONG']);
    await server.stop();
  });

  it('stop works on a paused server, is idempotent, frees the port and removes the temp dir', async () => {
    const server = await startRedis();
    const [dir] = (await redis(server.url, [['CONFIG', 'GET', 'dir']])) as [string[]];
    expect(existsSync(dir?.[1] ?? '')).toBe(true);
    await server.suspend();
    await Promise.all([server.stop(), server.stop()]);
    await server.stop();
    expect(await isRefused(server.url)).toBe(true);
    expect(existsSync(dir?.[1] ?? '')).toBe(false);
    await expect(server.restart()).rejects.toThrow(/stopped/);
  });

  it('passes password and extra args to redis-server', async () => {
    const server = await startRedis({ password: 's3cret', args: ['--maxmemory', '12mb'] });
    expect(await redis(server.url, [['PING']])).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^NOAUTH/) }),
    ]);
    expect(
      await redis(server.url, [
        ['AUTH', 's3cret'],
        ['CONFIG', 'GET', 'maxmemory'],
      ]),
    ).toEqual(['OK', ['maxmemory', String(12 * 1024 * 1024)]]);
    await server.restart();
    expect(await redis(server.url, [['AUTH', 's3cret'], ['PING']])).toEqual(['OK', 'PONG']);
    await server.stop();
  });
});
