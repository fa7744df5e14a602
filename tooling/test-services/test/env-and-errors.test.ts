import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { containerRuntime } from '../src/docker.js';
import { startEtcd, startNats, startRedis } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, redis } from './support/raw-protocols.js';

useServerBinaries();

const scratch = mkdtempSync(join(tmpdir(), 'roster-test-bin-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in for a server binary: a shell script in its own dir, to pass as `searchPath`. */
function fakeBinary(name: string, script: string): string[] {
  const dir = mkdtempSync(join(scratch, 'dir-'));
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return [dir];
}

describe('a URL from the environment', () => {
  it('is preferred; stop() leaves the server alone and faults reject with a clear message', async () => {
    const real = await startRedis();
    vi.stubEnv('ROSTER_REDIS_URL', real.url);
    try {
      const fromEnv = await startRedis({ appendonly: true });
      expect(fromEnv).toMatchObject({ kind: 'redis', source: 'env', url: real.url });
      await fromEnv.stop();
      expect(await redis(fromEnv.url, [['PING']])).toEqual(['PONG']);
      for (const fault of [
        () => fromEnv.restart(),
        () => fromEnv.kill(),
        () => fromEnv.pause(10),
        () => fromEnv.suspend(),
      ]) {
        await expect(fault()).rejects.toThrow(
          /ROSTER_REDIS_URL.*fault injection needs a server started by @roster\/test-services.*Unset ROSTER_REDIS_URL/s,
        );
      }
    } finally {
      vi.stubEnv('ROSTER_REDIS_URL', undefined);
      await real.stop();
    }
  });

  it('works the same for NATS and etcd, without contacting them', async () => {
    vi.stubEnv('ROSTER_NATS_URL', 'nats://127.0.0.1:1');
    vi.stubEnv('ROSTER_ETCD_URL', 'http://127.0.0.1:2');
    try {
      const nats = await startNats();
      expect(nats).toMatchObject({
        kind: 'nats',
        source: 'env',
        url: 'nats://127.0.0.1:1',
        monitorUrl: undefined,
      });
      await expect(nats.kill()).rejects.toThrow(/ROSTER_NATS_URL/);
      const etcd = await startEtcd();
      expect(etcd).toMatchObject({ kind: 'etcd', source: 'env', url: 'http://127.0.0.1:2' });
      await expect(etcd.restart()).rejects.toThrow(/ROSTER_ETCD_URL/);
    } finally {
      vi.stubEnv('ROSTER_NATS_URL', undefined);
      vi.stubEnv('ROSTER_ETCD_URL', undefined);
    }
  });
});

describe('errors', () => {
  it('names the Debian package when the binary is missing', async () => {
    const empty = [mkdtempSync(join(scratch, 'empty-'))];
    await expect(startNats({ searchPath: empty })).rejects.toThrow(
      /nats-server not found.*apt-get install -y nats-server/,
    );
    await expect(startRedis({ searchPath: empty })).rejects.toThrow(
      /redis-server not found.*apt-get install -y redis-server/,
    );
    await expect(startEtcd({ searchPath: empty })).rejects.toThrow(
      /etcd not found.*apt-get install -y etcd-server/,
    );
  });

  it('rejects an unknown ROSTER_TEST_SERVICES value', async () => {
    vi.stubEnv('ROSTER_TEST_SERVICES', 'podman');
    try {
      await expect(startRedis()).rejects.toThrow(
        /ROSTER_TEST_SERVICES must be "binary", "docker" or unset; got "podman"/,
      );
    } finally {
      vi.stubEnv('ROSTER_TEST_SERVICES', 'binary');
    }
  });

  it('ROSTER_TEST_SERVICES=docker fails fast and clearly when no Docker engine answers', async (context) => {
    const started = Date.now();
    if (await containerRuntime()) context.skip('a Docker engine answers here');
    expect(Date.now() - started).toBeLessThan(6_000);
    vi.stubEnv('ROSTER_TEST_SERVICES', 'docker');
    try {
      await expect(startNats()).rejects.toThrow(/ROSTER_TEST_SERVICES=docker but no Docker engine answered/);
    } finally {
      vi.stubEnv('ROSTER_TEST_SERVICES', 'binary');
    }
  });

  it('reports a server that exits at startup with its exit code and output', async () => {
    await expect(startRedis({ args: ['--no-such-directive', 'x'] })).rejects.toThrow(
      /redis \(redis-server\) did not start: redis \(redis-server\) exited with code 1[\s\S]*no-such-directive/,
    );
  });

  it('gives up on a server that never becomes ready, with its output, and kills it', async () => {
    const searchPath = fakeBinary('redis-server', 'echo "pretending to start on $2"\nexec sleep 30');
    const error = (await startRedis({ searchPath, startupTimeoutMs: 400 }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /timed out after 400 ms waiting for redis \(redis-server\) to become ready/,
    );
    expect(error.message).toMatch(/readiness check failed: connect ECONNREFUSED/);
    const port = /pretending to start on (\d+)/.exec(error.message)?.[1];
    expect(port).toBeDefined();
    expect(await isRefused(`redis://127.0.0.1:${port}`)).toBe(true);
  });

  it('retries with new ports when the chosen port is taken', async () => {
    // Fails like redis-server does on a taken port the first time, then behaves.
    const real = '/usr/bin/redis-server';
    const marker = join(scratch, 'tried-once');
    const searchPath = fakeBinary(
      'redis-server',
      `if [ ! -e ${marker} ]; then touch ${marker}; echo "Could not create server TCP listening socket 127.0.0.1:$2: bind: Address already in use" >&2; exit 1; fi\nexec ${real} "$@"`,
    );
    const server = await startRedis({ searchPath });
    expect(await redis(server.url, [['PING']])).toEqual(['PONG']);
    await server.stop();
  });
});
