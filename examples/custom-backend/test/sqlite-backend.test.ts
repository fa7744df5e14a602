import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery } from '@roster/core';
import { describeConformance, waitFor } from '@roster/core/conformance';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteBackend } from '../src/index.js';

// On tmpfs, as the README advises (membership needs no disk): the file lock is a directory, and
// creating one per transaction on a journaling disk costs more than the transaction itself.
const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dir = mkdtempSync(join(base, 'roster-sqlite-'));
const path = join(dir, 'cluster.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A user's backend, tested the way the docs tell them to.
describeConformance({ name: 'sqlite', createBackend: ({ namespace }) => sqliteBackend({ path, namespace }) });

describe('sqlite backend', () => {
  it('rejects a namespace opened with another ttl', async () => {
    const a = await createDiscovery({ backend: sqliteBackend({ path, namespace: 'ttl-check' }), ttl: 2_000 });
    await expect(
      createDiscovery({ backend: sqliteBackend({ path, namespace: 'ttl-check' }), ttl: 3_000 }),
    ).rejects.toMatchObject({ code: 'ERR_CONFIG_MISMATCH' });
    await a.close();
  });

  it('a lock left by a process killed inside a transaction is broken, not waited on forever', async () => {
    const d = await createDiscovery({ backend: sqliteBackend({ path, namespace: 'stale' }), ttl: 2_000 });
    // What a SIGKILL between the lock and the unlock leaves: the lock directory, old.
    mkdirSync(`${path}.lock`);
    const old = new Date(Date.now() - 10_000);
    utimesSync(`${path}.lock`, old, old);
    const started = Date.now();
    await d.register({ id: 'after-stale-lock' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(existsSync(`${path}.lock`)).toBe(false);
    await d.close();
  });

  it('a fresh lock held by another process makes calls wait, then go through once it is released', async () => {
    const d = await createDiscovery({ backend: sqliteBackend({ path, namespace: 'busy' }), ttl: 2_000 });
    mkdirSync(`${path}.lock`);
    let releasedAt = 0;
    setTimeout(() => {
      rmSync(`${path}.lock`, { recursive: true });
      releasedAt = Date.now();
    }, 300);
    await d.register({ id: 'after-busy' });
    // It resolved only once the other "process" let go of the file.
    expect(releasedAt).toBeGreaterThan(0);
    await d.close();
  });

  it('processes on one host share the cluster through the file', async () => {
    const watcher = await createDiscovery({
      backend: sqliteBackend({ path, namespace: 'procs' }),
      ttl: 1_000,
    });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { createDiscovery } from '@roster/core';
         import { sqliteBackend } from './src/index.ts';
         const d = await createDiscovery({ backend: sqliteBackend({ path: ${JSON.stringify(path)}, namespace: 'procs' }), ttl: 1_000 });
         await d.register({ id: 'child-1', metadata: { pid: String(process.pid) } });
         console.log('registered');`,
      ],
      { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await waitFor('child-1 from the other process', () => watcher.get('child-1'));
      expect(watcher.get('child-1')?.metadata.pid).toBe(String(child.pid));
      child.kill('SIGKILL');
      await waitFor('child-1 expired after the kill', () => watcher.get('child-1') === undefined, 5_000);
    } finally {
      child.kill('SIGKILL');
      await watcher.close();
    }
  });
});
