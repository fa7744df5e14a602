import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startNats, startRedis, stopAllServices } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, natsPing, redis } from './support/raw-protocols.js';

useServerBinaries();

describe('stopAllServices', () => {
  it('stops every server this process started', async () => {
    const [nats, redisServer] = await Promise.all([startNats(), startRedis()]);
    await natsPing(nats.url);
    expect(await redis(redisServer.url, [['PING']])).toEqual(['PONG']);
    await redisServer.suspend();
    await stopAllServices();
    expect(await isRefused(nats.url)).toBe(true);
    expect(await isRefused(redisServer.url)).toBe(true);
  });
});

describe('a test run that ends without stopping its server', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const vitestBin = join(
    dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
    'vitest.mjs',
  );
  const scratch = mkdtempSync(join(tmpdir(), 'roster-test-teardown-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs the fixture in its own vitest process; returns the URL of the server it abandoned. */
  async function runFixture(end: 'pass' | 'fail' | 'sigkill' | 'sigterm', cluster = false): Promise<string> {
    const out = join(scratch, `${end}${cluster ? '-cluster' : ''}.url`);
    const child = spawn(
      process.execPath,
      [vitestBin, 'run', '--config', join(here, 'fixtures/vitest.config.ts')],
      {
        cwd: join(here, 'fixtures'),
        env: {
          ...process.env,
          TMPDIR: scratch,
          ROSTER_TEST_SERVICES: 'binary',
          ROSTER_TEST_RESULTS: '0',
          ROSTER_FIXTURE_OUT: out,
          ROSTER_FIXTURE_END: end,
          ROSTER_FIXTURE_CLUSTER: cluster ? '1' : '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    await new Promise((resolve) => child.once('close', resolve));
    expect(existsSync(out), `the fixture did not start its server:\n${output}`).toBe(true);
    return readFileSync(out, 'utf8');
  }

  it.each(['pass', 'fail', 'sigterm', 'sigkill'] as const)('leaves no server behind (%s)', async (end) => {
    const url = await runFixture(end);
    // SIGKILL of the test process is only caught by the parent-death signal, which the kernel
    // delivers asynchronously; give it a moment.
    await expect.poll(() => isRefused(url), { timeout: 5_000, interval: 50 }).toBe(true);
  });

  it.each(['fail', 'sigkill'] as const)('leaves no cluster member behind (%s)', async (end) => {
    const urls = (await runFixture(end, true)).split(',');
    expect(urls).toHaveLength(3);
    for (const url of urls)
      await expect.poll(() => isRefused(url), { timeout: 5_000, interval: 50 }).toBe(true);
  });
});
