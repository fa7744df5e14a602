import { describe, expect, it } from 'vitest';
import { startEtcd } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { etcdGet, etcdHealth, etcdPut, isRefused } from './support/raw-protocols.js';

useServerBinaries();

describe('startEtcd (binary)', () => {
  it('starts a healthy single-node etcd whose v3 gateway stores keys', async () => {
    const server = await startEtcd();
    expect(server).toMatchObject({ kind: 'etcd', source: 'binary' });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await etcdHealth(server.url)).toBe('true');
    await etcdPut(server.url, 'roster/a', 'one');
    expect(await etcdGet(server.url, 'roster/a')).toBe('one');
    await server.stop();
  });

  it('keeps its data across restart and kill + restart, on the same URL', async () => {
    const server = await startEtcd();
    await etcdPut(server.url, 'roster/before-restart', '1');
    await server.restart();
    expect(await etcdGet(server.url, 'roster/before-restart')).toBe('1');
    await etcdPut(server.url, 'roster/before-kill', '2');
    await server.kill();
    expect(await isRefused(server.url)).toBe(true);
    await server.restart();
    expect(await etcdGet(server.url, 'roster/before-restart')).toBe('1');
    expect(await etcdGet(server.url, 'roster/before-kill')).toBe('2');
    await server.stop();
    expect(await isRefused(server.url)).toBe(true);
  });

  it('pause freezes the server, then it answers again', async () => {
    const server = await startEtcd();
    const paused = server.pause(800);
    await expect(etcdHealth(server.url, 300)).rejects.toThrow();
    await paused;
    expect(await etcdHealth(server.url, 2_000)).toBe('true');
    await server.stop();
  });
});
