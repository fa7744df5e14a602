import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import {
  BackendAuthError,
  BackendUnavailableError,
  ConfigMismatchError,
  createDiscovery,
  type DiscoveryOptions,
  encodeRecord,
  InvalidOptionsError,
  type NodeDiscovery,
} from '@roster/core';
import { describeConformance, Recorder, waitFor as until } from '@roster/core/conformance';
import type { DiscoveryBackend } from '@roster/core/spi';
import {
  captureLogger,
  ensureBuilt,
  freePort,
  freshNamespace,
  type NatsServiceHandle,
  open as openForTest,
  startNats,
  startOwnerProcess,
} from '@roster/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { natsBackend } from '../src/index.js';

const server: NatsServiceHandle = await startNats();
afterAll(() => server.stop());

/** The owner-process fixture of the test kit, on this package's build. */
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const owner = (context: { namespace: string; id: string; ttl: number }) =>
  startOwnerProcess({
    packageDir,
    factory: 'natsBackend',
    backend: { servers: server.url },
    ...context,
  });

describeConformance({
  name: 'nats',
  createBackend: ({ namespace }) => natsBackend({ servers: server.url, namespace }),
  faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
  ownerProcess: owner,
});

// ---- NATS-specific ------------------------------------------------------------------------------

const TTL = 1_000;
const GRACE = Math.max(1_000, TTL / 4);
/** A discovery on the test server (or `url`), closed when the test ends. */
function open(namespace: string, options: Partial<DiscoveryOptions> & { url?: string } = {}) {
  const { url, ...rest } = options;
  return openForTest(() =>
    createDiscovery({ backend: natsBackend({ servers: url ?? server.url, namespace }), ttl: TTL, ...rest }),
  );
}

describe('nats backend', () => {
  it('persistence: nodes survive a server restart; a new instance lists them and watchers resume', async () => {
    const ns = freshNamespace('nats_persist_');
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

  it('an owner process killed with SIGKILL is left expired at another instance within ttl + grace', async () => {
    ensureBuilt(packageDir); // before the clock starts: a stale build is rebuilt synchronously
    const ns = freshNamespace('nats_kill_');
    const watcher = await open(ns);
    const watched = new Recorder(watcher);
    const worker = await owner({ namespace: ns, id: 'worker-1', ttl: TTL });
    await until(
      'worker-1 joined at the watcher',
      () => watched.events.find((e) => e.type === 'joined' && e.node.id === 'worker-1'),
      15_000,
    );
    await until(
      'a few heartbeats',
      () => watcher.get('worker-1')?.lastSeen !== watcher.get('worker-1')?.registeredAt,
    );
    const lastSeen = await worker.killAfterHeartbeat();
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

  it('a pause beyond the ttl: a silent owner registers again after resume and every view converges', async () => {
    const ns = freshNamespace('nats_pause_');
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
    const ns = freshNamespace('nats_foreign_');
    const logger = captureLogger();
    const lines = logger.entries;
    const watcher = await open(ns, { logger });
    const watched = new Recorder(watcher);
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    const kv = await new Kvm(nc).open(`roster_${ns}`);
    await kv.put('intruder', 'not json at all');
    await kv.put('nested.key.x', JSON.stringify({ v: 2, id: 'nested.key.x' }));
    // Keys that are no node id at all (a `/`, 129 characters): the backend itself skips them.
    await kv.put('tool/config', 'x');
    await kv.put('k'.repeat(129), 'x');
    const owner = await open(ns);
    await owner.register({ id: 'after-foreign' });
    await until('after-foreign joined', () =>
      watched.events.find((e) => e.type === 'joined' && e.node.id === 'after-foreign'),
    );
    await until('a warning about the foreign value', () =>
      lines.find((l) => l.level === 'warn' && l.message.includes('intruder')),
    );
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('nested.key.x'))).toBe(true);
    await until('a warning about the key that is no node id', () =>
      lines.find((l) => l.level === 'warn' && l.message.includes('not a node id')),
    );
    // A new instance lists the bucket: the snapshot warns too, and still lists the real node.
    const lister = await open(ns, { logger });
    expect(lister.get('after-foreign')).toBeDefined();
    expect(lines.filter((l) => l.message.includes('not a node id') && l.level !== 'warn')).toEqual([]);
    expect(watcher.get('intruder')).toBeUndefined();
    expect(watched.events.some((e) => e.node.id === 'intruder')).toBe(false);
    watched.stop();
  });

  it('an existing bucket with another ttl or storage is a ConfigMismatchError naming both values', async () => {
    const ns = freshNamespace('nats_mismatch_');
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
    const ns = freshNamespace('nats_recreate_');
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
      expect(error).toBeInstanceOf(BackendAuthError);
      expect((error as BackendAuthError).code).toBe('ERR_BACKEND_AUTH');
      expect((error as Error).message).toContain(secured.url);
      expect((error as Error).message).toMatch(/credentials|Authorization/);
    } finally {
      await secured.stop();
    }
  });

  it('a user without a JetStream permission the backend needs: BackendAuthError naming the refused subject', async ({
    onTestFinished,
  }) => {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'roster-nats-perm-'));
    const config = join(dir, 'server.conf');
    await writeFile(
      config,
      `listen: 127.0.0.1:${port}\njetstream { store_dir: "${join(dir, 'data')}" }\n` +
        'authorization { users = [ { user: "limited", password: "pw", permissions: ' +
        '{ publish: { deny: ["$JS.API.STREAM.CREATE.>"] }, subscribe: ">" } } ] }\n',
    );
    const limited = spawn('/usr/sbin/nats-server', ['-c', config], { stdio: 'ignore' });
    onTestFinished(async () => {
      limited.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });
    const url = `nats://127.0.0.1:${port}`;
    await until('the server with permissions to accept connections', async () => {
      try {
        await (await connect({ servers: url, user: 'limited', pass: 'pw' })).close();
        return true;
      } catch {
        return false;
      }
    });
    const error = await createDiscovery({
      backend: natsBackend({ servers: url, namespace: 'perm', user: 'limited', pass: 'pw' }),
      ttl: TTL,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect((error as Error).message).toContain('STREAM.CREATE');
    expect((error as Error).message).toContain(url);
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
        backend: natsBackend({ connection: nc, namespace: freshNamespace('nats_shared_') }),
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
    // historyRetention (the name Redis uses too) or its former name historyMaxAge, not both.
    expect(() => natsBackend({ servers: server.url, historyRetention: 0 })).toThrow(/historyRetention/);
    expect(() => natsBackend({ servers: server.url, historyMaxAge: 0 })).toThrow(/historyMaxAge/);
    expect(() => natsBackend({ servers: server.url, historyRetention: 5_000, historyMaxAge: 5_000 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => natsBackend({ servers: server.url, historyMaxAge: 5_000 })).not.toThrow();
  });
});

// ---- defects of issue 10 (§2: 5, 7, 9, 10) and issue 12 ----------------------------------------

/** Rule 4's bound for a ttl. */
const graceFor = (ttl: number) => Math.max(1_000, ttl / 4);

/** A raw backend on `namespace`, closed when the test ends. */
async function rawBackend(
  onTestFinished: (fn: () => Promise<void>) => void,
  namespace: string,
  ttl: number,
  extra: Partial<Parameters<typeof natsBackend>[0]> = {},
  url = server.url,
): Promise<DiscoveryBackend> {
  const backend = natsBackend({ servers: url, namespace, ...extra });
  onTestFinished(() => backend.close());
  await backend.open({ ttl, logger: captureLogger() });
  return backend;
}

function record(id: string, lastSeen: number): Uint8Array {
  return encodeRecord({
    id,
    metadata: {},
    load: 0,
    instanceId: `raw-${id}`,
    registeredAt: lastSeen,
    lastSeen,
  });
}

describe('nats backend: a feed whose consumer vanished', () => {
  it('a feed whose server-side consumer is gone without a word re-lists (resync) within two stream checks', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('nats_stall_');
    const backend = await rawBackend(onTestFinished, ns, 10_000, { streamCheckInterval: 300 });
    const changes: string[] = [];
    const feed = backend.watch((await backend.list()).cursor, (change) => {
      changes.push(change.type === 'resync' ? 'resync' : `${change.type}:${change.key}`);
    });
    onTestFinished(() => feed.stop());
    await backend.put('st-1', record('st-1', Date.now()));
    await until('st-1 in the feed', () => changes.includes('put:st-1'));
    // What a killed stream leader does to a consumer that lived on it: gone, no notice to the client.
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    const jsm = await jetstreamManager(nc);
    for await (const consumer of jsm.consumers.list(`KV_roster_${ns}`))
      await jsm.consumers.delete(`KV_roster_${ns}`, consumer.name);
    await backend.put('st-2', record('st-2', Date.now()));
    await until(
      'the feed to deliver st-2 or ask for a resync',
      () => changes.includes('put:st-2') || changes.includes('resync'),
      3_000,
    );
  });
});

describe('nats backend: any ttl (rule 18)', () => {
  for (const ttl of [1_100, 10_000 / 3]) {
    it(`ttl ${ttl.toFixed(1)}: opens (twice, no ConfigMismatchError), a key lives >= ttl and is gone by ttl + grace`, async ({
      onTestFinished,
    }) => {
      const ns = freshNamespace('nats_fractional_');
      const a = await rawBackend(onTestFinished, ns, ttl);
      // A second instance with the same ttl agrees with the bucket the first one created.
      const b = await rawBackend(onTestFinished, ns, ttl);
      const before = Date.now();
      const put = await a.put('frac-1', record('frac-1', before));
      const after = Date.now();
      expect(put.ok).toBe(true);
      let goneAt = 0;
      await until(
        'frac-1 gone at the server',
        async () => {
          const entry = await b.get('frac-1');
          if (entry) return false;
          goneAt = Date.now();
          return true;
        },
        ttl + graceFor(ttl) + 2_000,
      );
      expect(goneAt - before, 'expired before the ttl').toBeGreaterThanOrEqual(ttl);
      expect(goneAt - after, 'still there after ttl + max(1 s, ttl / 4)').toBeLessThanOrEqual(
        ttl + graceFor(ttl),
      );
      // Another ttl on the same namespace is refused, naming both.
      const other = natsBackend({ servers: server.url, namespace: ns });
      onTestFinished(() => other.close());
      await expect(other.open({ ttl: ttl + 500, logger: captureLogger() })).rejects.toBeInstanceOf(
        ConfigMismatchError,
      );
    }, 20_000);
  }

  it('ttl 10000/3 through core: a silent owner is left expired within [ttl, ttl + grace] at a watcher', async ({
    onTestFinished,
  }) => {
    const ttl = 10_000 / 3;
    const ns = freshNamespace('nats_fraccore_');
    const owner = await open(ns, { ttl });
    const watcher = await open(ns, { ttl });
    const watched = new Recorder(watcher);
    onTestFinished(() => watched.stop());
    const node = await owner.register({ id: 'frac-core' });
    await watched.joined('frac-core');
    await owner.heartbeat('frac-core');
    const lastBeat = owner.get('frac-core')?.lastSeen ?? node.lastSeen;
    await owner.close({ unregister: false });
    const left = await watched.left('frac-core', ttl + graceFor(ttl) + 5_000);
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - lastBeat).toBeGreaterThanOrEqual(ttl);
    expect(left.at - lastBeat).toBeLessThanOrEqual(ttl + graceFor(ttl));
  }, 20_000);
});

describe('nats backend: expiry is timed by the server, not the owner clock (rule 16)', () => {
  it('list() gives each entry its age by the server clock, whatever lastSeen says', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('nats_age_');
    const raw = await rawBackend(onTestFinished, ns, 10_000);
    const wroteAt = Date.now();
    await raw.put('ahead-1', record('ahead-1', wroteAt + 60_000));
    await raw.put('behind-1', record('behind-1', wroteAt - 60_000));
    await until('a second to pass', () => Date.now() - wroteAt >= 1_000);
    const snapshot = await raw.list();
    const listedAt = Date.now();
    for (const entry of snapshot.entries) {
      const age = (entry as { age?: number }).age;
      expect(age, `age of ${entry.key}`).toBeTypeOf('number');
      // Loopback: the server's clock is ours, so the age is the time since the put, +- scheduling.
      expect(Math.abs((age as number) - (listedAt - wroteAt)), `age of ${entry.key}`).toBeLessThan(250);
    }
    expect(snapshot.entries.map((e) => e.key).sort()).toEqual(['ahead-1', 'behind-1']);
  });

  for (const skew of [60_000, -60_000]) {
    it(`a record whose lastSeen is ${skew > 0 ? '+' : ''}${skew / 1000} s off, listed late by a new watcher, is left expired within [ttl, ttl + grace] of its write`, async ({
      onTestFinished,
    }) => {
      const ttl = 4_000;
      const ns = freshNamespace('nats_skew_');
      const raw = await rawBackend(onTestFinished, ns, ttl);
      const before = Date.now();
      await raw.put('skewed-1', record('skewed-1', before + skew));
      const after = Date.now();
      // The watcher lists the record half a ttl after it was written (the snapshot path of core).
      await until('half a ttl to pass', () => Date.now() - after >= ttl / 2);
      const watcher = await open(ns, { ttl });
      const watched = new Recorder(watcher);
      onTestFinished(() => watched.stop());
      await watched.joined('skewed-1');
      const left = await watched.left('skewed-1', ttl + graceFor(ttl) + 5_000);
      expect(left.event).toMatchObject({ reason: 'expired' });
      expect(left.at - before, 'left before the ttl ran out').toBeGreaterThanOrEqual(ttl);
      expect(left.at - after, 'left after ttl + max(1 s, ttl / 4)').toBeLessThanOrEqual(ttl + graceFor(ttl));
    }, 20_000);
  }
});

describe('nats backend: failed opens and a frozen server (rule 14)', () => {
  /** A TCP server that accepts and says nothing (`greeting` undefined), or greets with something that is not NATS. */
  async function fakeServer(onTestFinished: (fn: () => Promise<void>) => void, greeting?: string) {
    const sockets = new Set<Socket>();
    const fake: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      if (greeting) socket.write(greeting);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => fake.close(resolve));
    });
    const address = fake.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return `nats://127.0.0.1:${address.port}`;
  }

  /** Runs test/fixtures/open-failure.mjs (a process of its own) and returns its outcome and exit time. */
  async function openInChild(url: string, timeout: number) {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/open-failure.mjs', import.meta.url)), url, String(timeout)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = await Promise.race([
      once(child, 'exit').then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), timeout + 10_000)),
    ]);
    if (!exited) child.kill('SIGKILL');
    return {
      exited,
      exitAfter: Date.now() - started,
      outcome: JSON.parse(output.trim() || '{}') as {
        opened?: boolean;
        code?: string;
        message?: string;
        settledAfter?: number;
        closedAfter?: number;
      },
    };
  }

  it('a port that accepts and never speaks (or speaks Redis): open rejects within the timeout and the process exits at once', async ({
    onTestFinished,
  }) => {
    const silent = await fakeServer(onTestFinished);
    const redisLike = await fakeServer(onTestFinished, '-ERR unknown command\r\n');
    const timeout = 2_000;
    const [a, b] = await Promise.all([openInChild(silent, timeout), openInChild(redisLike, timeout)]);
    for (const [run, url] of [
      [a, silent],
      [b, redisLike],
    ] as const) {
      expect(run.outcome).toMatchObject({ opened: false, code: 'ERR_BACKEND_UNAVAILABLE' });
      expect(run.outcome.message).toContain(url);
      expect(run.outcome.settledAfter).toBeLessThanOrEqual(timeout + 500);
      expect(run.outcome.closedAfter! - run.outcome.settledAfter!).toBeLessThan(500);
      // Nothing left alive: node exits as soon as close() returned (startup ~ a few hundred ms).
      expect(run.exited, 'the process is still alive 10 s after the timeout').toBe(true);
      expect(run.exitAfter).toBeLessThan(timeout + 3_000);
    }
    expect(b.outcome.message).toMatch(/does not speak the NATS protocol/);
  }, 30_000);

  it('a frozen server: open, put, get, delete, list, history and close each settle within requestTimeout', async ({
    onTestFinished,
  }) => {
    const frozen = await startNats();
    onTestFinished(async () => {
      await frozen.resume().catch(() => {});
      await frozen.stop();
    });
    const requestTimeout = 1_500;
    const slack = 700; // scheduling on a loaded 2-core machine, not part of the bound
    const ns = freshNamespace('nats_frozen_');
    const backend = await rawBackend(onTestFinished, ns, 2_000, { requestTimeout }, frozen.url);
    const first = await backend.put('ice-1', record('ice-1', Date.now()));
    // A feed is running when the server freezes: close() must not wait on its consumer's cleanup.
    const delivered: string[] = [];
    const feed = backend.watch((await backend.list()).cursor, (change) => {
      if (change.type === 'put') delivered.push(change.key);
    });
    onTestFinished(() => feed.stop());
    await backend.put('ice-0', record('ice-0', Date.now()));
    await until('the feed to deliver ice-0', () => delivered.includes('ice-0'));
    await frozen.suspend();
    const timed = async (what: string, call: () => Promise<unknown>) => {
      const started = Date.now();
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { what, error, took: Date.now() - started };
    };
    const results = await Promise.all([
      timed('put', () => backend.put('ice-2', record('ice-2', Date.now()))),
      timed('get', () => backend.get('ice-1')),
      timed('delete', () => backend.delete('ice-1', { expectedRevision: first.ok ? first.revision : 1 })),
      timed('list', () => backend.list()),
      timed('history', () => backend.history!('ice-1', 3)),
      timed('open', () =>
        natsBackend({ servers: frozen.url, namespace: ns, requestTimeout, timeout: requestTimeout }).open({
          ttl: 2_000,
          logger: captureLogger(),
        }),
      ),
    ]);
    for (const { what, error, took } of results) {
      expect(error, `${what} resolved against a frozen server`).toBeInstanceOf(BackendUnavailableError);
      expect(took, `${what} took ${took} ms`).toBeLessThanOrEqual(requestTimeout + slack);
    }
    // Roster's deadline settles each call, with its own message: the client's timeouts are set
    // a little later, so no race between two timers decides what the user reads.
    const doing: Record<string, string> = {
      put: 'writing "ice-2"',
      get: 'reading "ice-1"',
      delete: 'deleting "ice-1"',
      list: `listing bucket "roster_${ns}"`,
      history: 'reading the history of "ice-1"',
    };
    for (const { what, error } of results.filter((r) => r.what !== 'open'))
      expect((error as Error).message, what).toBe(
        `NATS at ${frozen.url} did not answer within ${requestTimeout} ms (requestTimeout) while ${doing[what]}: ` +
          'the server is frozen, overloaded or unreachable',
      );
    // Core's close() unregisters (a delete that times out), then closes the backend: together
    // within the request timeout, so the backend's close() may not wait on the frozen server again.
    const closing = await timed('unregister, then close', async () => {
      await backend.delete('ice-1').catch(() => {});
      await backend.close();
    });
    expect(closing.error).toBeUndefined();
    expect(closing.took, `unregister + close took ${closing.took} ms`).toBeLessThanOrEqual(
      requestTimeout + slack,
    );
  }, 30_000);
});
