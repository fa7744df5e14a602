import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

// Runs the example as documented (`node --import tsx cluster.ts`, the built @roster packages) and
// scrapes its Prometheus endpoint.
const root = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});

it('prints the metrics and serves roster_ series to Prometheus; Ctrl-C stops it cleanly', async () => {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'cluster.ts'], {
    cwd: root,
    env: { ...process.env, METRICS_PORT: String(port), PRINT_INTERVAL_MS: '500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  proc.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  await until(
    async () => (out.includes(`/metrics`) ? true : undefined),
    15_000,
    `the endpoint (stderr: ${err})`,
  );
  const scrape = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  };
  // cache-1's owner crashes after 3 s: its expiry (ttl 2 s) shows in the event counter.
  const text = await until(
    async () => {
      const body = await scrape();
      return /roster_events_total\{[^}]*roster_leave_reason="expired"[^}]*\} [1-9]/.test(body)
        ? body
        : undefined;
    },
    15_000,
    'left expired in /metrics',
  );
  expect(text).toMatch(
    /^roster_view_nodes\{[^}]*roster_backend="memory"[^}]*roster_namespace="demo"[^}]*\} \d+$/m,
  );
  expect(text).toMatch(/^roster_owned_nodes\{[^}]*\} \d+$/m);
  expect(text).toMatch(/^roster_heartbeat_sent_total\{[^}]*\} [1-9]\d*$/m);
  expect(text).toMatch(/^roster_heartbeat_duration_bucket\{[^}]*le="0\.001"[^}]*\} \d+$/m);
  expect(text).toMatch(/^roster_register_duration_count\{[^}]*\} [1-9]\d*$/m);
  expect(text).toMatch(/^roster_backend_duration_count\{[^}]*roster_operation="put"[^}]*\} [1-9]\d*$/m);
  expect(text).toMatch(/^roster_events_total\{[^}]*roster_event_type="joined"[^}]*\} [1-9]\d*$/m);
  // The printed summary.
  expect(out).toMatch(/--- roster metrics \(memory\/demo\)/);
  expect(out).toMatch(/ roster\.view\.nodes \d+ \{node\}/);
  expect(out).toContain('event: left cache-1 (expired)');

  proc.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toContain('stopped');
  expect(err).toBe('');
}, 40_000);
