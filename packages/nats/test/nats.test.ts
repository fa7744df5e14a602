import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import {
  BackendUnavailableError,
  ConfigMismatchError,
  createDiscovery,
  type DiscoveryOptions,
  InvalidOptionsError,
  type Logger,
  type NodeDiscovery,
} from '@roster/core';
import { describeConformance, Recorder, waitFor as until } from '@roster/core/conformance';
import { freePort, type NatsServiceHandle, startNats } from '@roster/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { natsBackend } from '../src/index.js';

const server: NatsServiceHandle = await startNats();
afterAll(() => server.stop());

describeConformance({
  name: 'nats',
  createBackend: ({ namespace }) => natsBackend({ servers: server.url, namespace }),
  faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
});

// ---- NATS-specific ------------------------------------------------------------------------------

const TTL = 1_000;
const GRACE = Math.max(1_000, TTL / 4);
let counter = 0;
const freshNamespace = (label: string) => `nats_${label}_${Date.now().toString(36)}_${counter++}`;

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}
function capturingLogger(lines: LogLine[]): Logger {
  const at = (level: LogLine['level']) => (message: string) => void lines.push({ level, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Instances opened by one test, closed when it ends (even when it fails). */
function instances(onTestFinished: (fn: () => Promise<void>) => void) {
  const opened: NodeDiscovery[] = [];
  onTestFinished(async () => {
    await Promise.all(opened.map((d) => d.close().catch(() => {})));
  });
  return async (namespace: string, options: Partial<DiscoveryOptions> & { url?: string } = {}) => {
    const { url, ...rest } = options;
    const discovery = await createDiscovery({
      backend: natsBackend({ servers: url ?? server.url, namespace }),
      ttl: TTL,
      ...rest,
    });
    opened.push(discovery);
    return discovery;
  };
}

describe('nats backend', () => {
  it('persistence: nodes survive a server restart; a new instance lists them and watchers resume', async ({
    onTestFinished,
  }) => {
    const open = instances(onTestFinished);
    const ns = freshNamespace('persist');
    const owner = await open(ns, { ttl: 5_000 });
    const watcher = await open(ns, { ttl: 5_000 });
    const watched = new Recorder(watcher);
    await owner.register({ id: 'db-1', metadata: { role: 'db' } });
    await until('db-1 at the watcher', () => watcher.get('db-1'));
    await server.restart();
    const late = await open(ns, { ttl: 5_000 });
    expect(late.get('db-1')?.metadata).toEqual({ role: 'db' });
    // The watcher's feed came back: a change made after the restart reaches it.
    await until('the owner to write again', async () => {
      try {
        await owner.register({ id: 'db-2' });
        return true;
      } catch {
        return false;
      }
    });
    await until('db-2 joined at the watcher', () =>
      watched.events.find((e) => e.type === 'joined' && e.node.id === 'db-2'),
    );
    expect(watcher.get('db-1')?.instanceId).toBe(late.get('db-1')?.instanceId);
    watched.stop();
  }, 40_000);

  it('an owner process killed with SIGKILL is left expired at another instance within ttl + grace', async ({
    onTestFinished,
  }) => {
    const open = instances(onTestFinished);
    const ns = freshNamespace('kill');
    const watcher = await open(ns);
    const watched = new Recorder(watcher);
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL('./fixtures/owner-process.mjs', import.meta.url)),
        server.url,
        ns,
        'worker-1',
        String(TTL),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    onTestFinished(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let lastSeen = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      lastSeen = Math.max(lastSeen, (JSON.parse(line) as { lastSeen: number }).lastSeen);
    });
    await until(
      'worker-1 joined at the watcher',
      () => watched.events.find((e) => e.type === 'joined' && e.node.id === 'worker-1'),
      15_000,
    );
    await until(
      'a few heartbeats',
      () => lastSeen > 0 && watcher.get('worker-1')?.lastSeen !== watcher.get('worker-1')?.registeredAt,
    );
    child.kill('SIGKILL');
    await once(child, 'exit');
    const left = await until('worker-1 left at the watcher', () =>
      watched.events.find((e) => e.type === 'left' && e.node.id === 'worker-1'),
    );
    const leftAt = Date.now();
    expect(left).toMatchObject({ reason: 'expired' });
    const lastHeartbeat = Math.max(lastSeen, left.node.lastSeen);
    expect(leftAt - lastHeartbeat).toBeGreaterThanOrEqual(TTL);
    expect(leftAt - lastHeartbeat).toBeLessThanOrEqual(TTL + GRACE);
    watched.stop();
  });

  it('a pause beyond the ttl: a silent owner registers again after resume and every view converges', async ({
    onTestFinished,
  }) => {
    const open = instances(onTestFinished);
    const ns = freshNamespace('pause');
    // No heartbeat is queued in the frozen server's socket, so the record surely ages out.
    const silent = await open(ns, { autoHeartbeat: false });
    const busy = await open(ns);
    const other = await open(ns);
    const before = await silent.register({ id: 'cache-1' });
    await busy.register({ id: 'cache-2' });
    await until('both nodes at the other instance', () => other.list().length === 2);
    await server.pause(TTL * 2.5);
    const view = (d: NodeDiscovery) => JSON.stringify(d.list().map((n) => [n.id, n.instanceId]));
    await until(
      'every view to show cache-1 registered again, and cache-2',
      () => {
        const again = silent.get('cache-1');
        return (
          again &&
          again.instanceId !== before.instanceId &&
          other.list().length === 2 &&
          view(silent) === view(other) &&
          view(busy) === view(other)
        );
      },
      TTL * 10,
    );
  }, 30_000);

  it('a foreign value written with a raw KV client is skipped and logged at warn; the watcher goes on', async ({
    onTestFinished,
  }) => {
    const open = instances(onTestFinished);
    const ns = freshNamespace('foreign');
    const lines: LogLine[] = [];
    const watcher = await open(ns, { logger: capturingLogger(lines) });
    const watched = new Recorder(watcher);
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    const kv = await new Kvm(nc).open(`roster_${ns}`);
    await kv.put('intruder', 'not json at all');
    await kv.put('nested.key.x', JSON.stringify({ v: 2, id: 'nested.key.x' }));
    const owner = await open(ns);
    await owner.register({ id: 'after-foreign' });
    await until('after-foreign joined', () =>
      watched.events.find((e) => e.type === 'joined' && e.node.id === 'after-foreign'),
    );
    await until('a warning about the foreign value', () =>
      lines.find((l) => l.level === 'warn' && l.message.includes('intruder')),
    );
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('nested.key.x'))).toBe(true);
    expect(watcher.get('intruder')).toBeUndefined();
    expect(watched.events.some((e) => e.node.id === 'intruder')).toBe(false);
    watched.stop();
  });

  it('an existing bucket with another ttl or storage is a ConfigMismatchError naming both values', async ({
    onTestFinished,
  }) => {
    const open = instances(onTestFinished);
    const ns = freshNamespace('mismatch');
    await open(ns, { ttl: 1_000 });
    const ttlError = await createDiscovery({
      backend: natsBackend({ servers: server.url, namespace: ns }),
      ttl: 2_000,
    }).catch((e: unknown) => e);
    expect(ttlError).toBeInstanceOf(ConfigMismatchError);
    expect((ttlError as Error).message).toMatch(/1000 ms/);
    expect((ttlError as Error).message).toMatch(/2000 ms/);
    const storageError = await createDiscovery({
      backend: natsBackend({ servers: server.url, namespace: ns, storage: 'memory' }),
      ttl: 1_000,
    }).catch((e: unknown) => e);
    expect(storageError).toBeInstanceOf(ConfigMismatchError);
    expect((storageError as Error).message).toMatch(/file storage.*memory storage/);
  });

  it('a bucket deleted beneath the instances is recreated and every view resynchronises', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('recreate');
    const opened: NodeDiscovery[] = [];
    onTestFinished(async () => {
      await Promise.all(opened.map((d) => d.close().catch(() => {})));
    });
    const make = async () => {
      const d = await createDiscovery({
        backend: natsBackend({ servers: server.url, namespace: ns, streamCheckInterval: 200 }),
        ttl: TTL,
      });
      opened.push(d);
      return d;
    };
    const owner = await make();
    const watcher = await make();
    const first = await owner.register({ id: 'svc-1' });
    await until('svc-1 at the watcher', () => watcher.get('svc-1'));
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    await (await jetstreamManager(nc)).streams.delete(`KV_roster_${ns}`);
    // The owner re-registers into the recreated bucket; the watcher follows the new stream.
    const back = await until(
      'svc-1 registered again and seen by the watcher',
      () => {
        const a = owner.get('svc-1');
        const b = watcher.get('svc-1');
        return a && b && a.instanceId !== first.instanceId && a.instanceId === b.instanceId && b;
      },
      15_000,
    );
    await owner.register({ id: 'svc-2' });
    await until('svc-2 at the watcher', () => watcher.get('svc-2'));
    expect(back.id).toBe('svc-1');
  }, 30_000);

  it('user/password pass through; a wrong password is an auth error naming the server', async () => {
    const secured = await startNats({ user: 'roster', password: 's3cret' });
    try {
      const good = await createDiscovery({
        backend: natsBackend({ servers: secured.url, namespace: 'auth', user: 'roster', pass: 's3cret' }),
        ttl: TTL,
      });
      await good.register({ id: 'authed' });
      expect(good.get('authed')).toBeDefined();
      await good.close();
      const error = await createDiscovery({
        backend: natsBackend({ servers: secured.url, namespace: 'auth', user: 'roster', pass: 'wrong' }),
        ttl: TTL,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).message).toContain(secured.url);
      expect((error as Error).message).toMatch(/credentials|Authorization/);
    } finally {
      await secured.stop();
    }
  });

  it('no server: BackendUnavailableError, fast', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await createDiscovery({
      backend: natsBackend({ servers: `nats://127.0.0.1:${port}` }),
      ttl: TTL,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a server without JetStream: a clear error saying -js is needed', async ({ onTestFinished }) => {
    const port = await freePort();
    const plain = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    });
    onTestFinished(async () => {
      plain.kill('SIGKILL');
    });
    await until('the plain server to accept connections', async () => {
      try {
        await (await connect({ servers: `nats://127.0.0.1:${port}` })).close();
        return true;
      } catch {
        return false;
      }
    });
    const error = await createDiscovery({
      backend: natsBackend({ servers: `nats://127.0.0.1:${port}` }),
      ttl: TTL,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/JetStream is not enabled/);
    expect((error as Error).message).toContain('-js');
  });

  it('a connection passed in is used and never closed by the backend', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const discovery = await createDiscovery({
        backend: natsBackend({ connection: nc, namespace: freshNamespace('shared') }),
        ttl: TTL,
      });
      await discovery.register({ id: 'shared-1' });
      await discovery.close();
      expect(nc.isClosed()).toBe(false);
    } finally {
      await nc.close();
    }
  });

  it('bad options are rejected with InvalidOptionsError', () => {
    expect(() => natsBackend({ servers: server.url, namespace: 'no spaces' })).toThrow(InvalidOptionsError);
    expect(() => natsBackend({ namespace: 'x' })).toThrow(InvalidOptionsError);
    expect(() => natsBackend({ servers: server.url, history: 0 })).toThrow(InvalidOptionsError);
    // @ts-expect-error: not a storage kind
    expect(() => natsBackend({ servers: server.url, storage: 'disk' })).toThrow(InvalidOptionsError);
  });
});
