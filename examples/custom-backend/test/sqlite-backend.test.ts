import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery } from '@roster/core';
import { describeConformance, waitFor } from '@roster/core/conformance';
import { describe, expect, it } from 'vitest';
import { sqliteBackend } from '../src/index.js';

const path = join(mkdtempSync(join(tmpdir(), 'roster-sqlite-')), 'cluster.db');

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
