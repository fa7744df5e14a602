import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  type BackendChange,
  BackendUnavailableError,
  ConfigMismatchError,
  createDiscovery,
  type DiscoveryOptions,
  type Logger,
  type NodeDiscovery,
} from '@roster/core';
import { describeConformance, Recorder, waitFor, wellFormedProblem } from '@roster/core/conformance';
import { freePort, type ServiceHandle, startEtcd } from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { etcdBackend } from '../src/index.js';

const server: ServiceHandle = await startEtcd();
afterAll(() => server.stop());

// 2 s: etcd leases count whole seconds and a default etcd server grants none below 2 s, so 2 s is
// the shortest ttl that behaves the same on any etcd (the test server, with a 250 ms election
// timeout, would allow 1 s).
const TTL = 2000;
const GRACE = Math.max(1000, TTL / 4);

describeConformance({
  name: 'etcd',
  ttl: TTL,
  createBackend: ({ namespace }) => etcdBackend({ hosts: server.url, namespace }),
  faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
});

// ---- etcd-specific ------------------------------------------------------------------------------

let counter = 0;
function freshNamespace(): string {
  counter += 1;
  return `et${Date.now().toString(36)}${counter}`;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn: (message) => void warnings.push(message),
    error: (message) => void warnings.push(message),
  };
}

async function open(namespace: string, options: Partial<DiscoveryOptions> = {}): Promise<NodeDiscovery> {
  const discovery = await createDiscovery({
    backend: etcdBackend({ hosts: server.url, namespace }),
    ttl: TTL,
    ...options,
  });
  onTestFinished(() => discovery.close({ unregister: false }).catch(() => {}));
  return discovery;
}

function rawClient(hosts = server.url, auth?: { username: string; password: string }): Etcd3 {
  const client = new Etcd3({ hosts, ...(auth ? { auth } : {}) });
  onTestFinished(() => client.close());
  return client;
}

function record(discovery: NodeDiscovery): Recorder {
  const recorder = new Recorder(discovery);
  onTestFinished(() => recorder.stop());
  return recorder;
}

function view(d: NodeDiscovery): string {
  return d
    .list()
    .map((n) => `${n.id}@${n.instanceId}`)
    .join(',');
}

/** Builds dist/ when it is missing or older than src/: the SIGKILL test runs the package as a user would. */
function ensureBuilt(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dist = `${root}dist/index.js`;
  const newestSource = Math.max(...readdirSync(`${root}src`).map((f) => statSync(`${root}src/${f}`).mtimeMs));
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestSource) return;
  const build = spawnSync(`${root}node_modules/.bin/tsup`, [], {
    cwd: root,
    stdio: 'pipe',
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`building @roster/etcd failed:\n${build.stdout}\n${build.stderr}`);
}

describe.sequential('etcd', () => {
  it('a server restart keeps the records; watchers resume without a spurious left', async () => {
    const ns = freshNamespace();
    const a = await open(ns);
    const b = await open(ns);
    const watch = record(b);
    const info = await a.register({ id: 'keep-a', metadata: { zone: 'x' } });
    await watch.next('joined keep-a', (e) => e.type === 'joined' && e.node.id === 'keep-a');
    await server.restart();
    // A change after the restart reaches the watcher: its feed came back.
    await a.register({ id: 'keep-a', metadata: { zone: 'y' } });
    await watch.next(
      'updated keep-a',
      (e) => e.type === 'updated' && e.node.metadata.zone === 'y',
      0,
      20_000,
    );
    expect(watch.summary('keep-a')).toEqual(['joined:keep-a', 'updated:keep-a']);
    expect(b.get('keep-a')?.instanceId).toBe(info.instanceId);
    const fresh = await open(ns);
    expect(fresh.get('keep-a')?.instanceId).toBe(info.instanceId);
  }, 60_000);

  it('an owner killed with SIGKILL leaves expired within the rounded ttl + the bound', async () => {
    ensureBuilt();
    const ns = freshNamespace();
    const watcher = await open(ns);
    const watch = record(watcher);
    const fixture = fileURLToPath(new URL('./fixtures/owner.mjs', import.meta.url));
    const child: ChildProcess = spawn(process.execPath, [fixture, server.url, ns, 'victim-1', String(TTL)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onTestFinished(() => void child.kill('SIGKILL'));
    const ready = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /ready (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`the owner process exited early (${code})`)));
    });
    await watch.next('joined victim-1', (e) => e.type === 'joined' && e.node.id === 'victim-1');
    child.kill('SIGKILL');
    const left = await watch.next(
      'left victim-1',
      (e) => e.type === 'left' && e.node.id === 'victim-1',
      0,
      15_000,
    );
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - ready).toBeLessThanOrEqual(Math.ceil(TTL / 1000) * 1000 + GRACE);
    expect(left.at - ready).toBeGreaterThanOrEqual(TTL - 50);
  }, 30_000);

  it('a pause beyond the ttl loses the leases; owners get a new one and views converge', async () => {
    const ns = freshNamespace();
    const lost: [string, string][] = [];
    const a = await open(ns, { onOwnNodeLost: (node, reason) => lost.push([node.id, reason]) });
    const b = await open(ns);
    const watch = record(b);
    const before = await a.register({ id: 'pz-a' });
    await waitFor('pz-a at b', () => b.get('pz-a'));
    await server.pause(TTL * 2 + 500);
    await waitFor(
      'pz-a registered again with a new instanceId, seen by a and b',
      () => {
        const now = a.get('pz-a');
        return now && now.instanceId !== before.instanceId && view(a) === view(b);
      },
      30_000,
    );
    expect(lost).toContainEqual(['pz-a', 'expired']);
    expect(watch.summary('pz-a').slice(0, 3)).toEqual(['joined:pz-a', 'left:pz-a:expired', 'joined:pz-a']);
    expect(wellFormedProblem(watch.events)).toBeUndefined();
    // The new lease is renewed: the node survives another ttl and more.
    const after = a.get('pz-a')!;
    await new Promise((resolve) => setTimeout(resolve, TTL * 1.5));
    expect(b.get('pz-a')?.instanceId).toBe(after.instanceId);
    await a.heartbeat('pz-a');
  }, 60_000);

  it('compaction under a watcher ends the feed with resync; core re-lists and stays right', async () => {
    const ns = freshNamespace();
    const raw = etcdBackend({ hosts: server.url, namespace: ns });
    await raw.open({ ttl: TTL, logger: recordingLogger() });
    onTestFinished(() => raw.close());
    const a = await open(ns);
    const b = await open(ns);
    const watch = record(b);
    const snapshot = await raw.list();
    await a.register({ id: 'c-1' });
    await a.register({ id: 'c-2' });
    await a.unregister('c-1');
    const client = rawClient();
    const head = Number((await client.kv.range({ key: Buffer.from('x') })).header.revision);
    await client.kv.compact({ revision: head, physical: true });
    const changes: BackendChange[] = [];
    const feed = raw.watch(snapshot.cursor, (change) => changes.push(change));
    onTestFinished(() => feed.stop());
    await waitFor('resync', () => changes.find((c) => c.type === 'resync'));
    expect(changes.filter((c) => c.type !== 'resync')).toEqual([]);
    expect(changes[0]).toMatchObject({ type: 'resync', reason: expect.stringMatching(/compacted/) });
    // The live instances were ahead of the compaction and carry on.
    await a.register({ id: 'c-3' });
    await waitFor(
      'c-2 and c-3 at b',
      () =>
        b
          .list()
          .map((n) => n.id)
          .join(',') === 'c-2,c-3',
    );
    expect(wellFormedProblem(watch.events)).toBeUndefined();
  });

  it('the feed tells an explicit delete, a lease expiry and a foreign delete apart', async () => {
    const ns = freshNamespace();
    const writer = etcdBackend({ hosts: server.url, namespace: ns });
    await writer.open({ ttl: TTL, logger: recordingLogger() });
    onTestFinished(() => writer.close());
    const snapshot = await writer.list();
    const changes: BackendChange[] = [];
    const feed = writer.watch(snapshot.cursor, (change) => changes.push(change));
    onTestFinished(() => feed.stop());
    const value = new TextEncoder().encode('{}');
    await writer.put('gone-explicit', value);
    await writer.put('gone-expired', value);
    await writer.put('gone-foreign', value);
    expect(await writer.delete('gone-explicit')).toBe(true);
    await rawClient().delete().key(`roster/${ns}/nodes/gone-foreign`);
    await waitFor('3 deletes', () => changes.filter((c) => c.type === 'delete').length === 3, TTL + 5_000);
    const deletes = changes.filter((c) => c.type === 'delete');
    expect(deletes.map((c) => [c.key, c.reason])).toEqual([
      ['gone-explicit', 'unregistered'],
      ['gone-foreign', undefined],
      ['gone-expired', 'expired'],
    ]);
    const revisions = changes.map((c) => (c.type === 'resync' ? 0 : c.revision));
    expect([...revisions].sort((x, y) => x - y)).toEqual(revisions);
  }, 20_000);

  it('compare-and-set: a stale revision or an existing key is a conflict and writes nothing', async () => {
    const ns = freshNamespace();
    const backend = etcdBackend({ hosts: server.url, namespace: ns });
    await backend.open({ ttl: TTL, logger: recordingLogger() });
    onTestFinished(() => backend.close());
    const v1 = new TextEncoder().encode('1');
    const first = await backend.put('cas', v1, { expectedRevision: null });
    expect(first.ok).toBe(true);
    expect(await backend.put('cas', v1, { expectedRevision: null })).toEqual({ ok: false });
    const rev = first.ok ? first.revision : 0;
    const second = await backend.put('cas', new TextEncoder().encode('2'), { expectedRevision: rev });
    expect(second.ok).toBe(true);
    expect(await backend.put('cas', new TextEncoder().encode('3'), { expectedRevision: rev })).toEqual({
      ok: false,
    });
    expect(await backend.delete('cas', { expectedRevision: rev })).toBe(false);
    expect(new TextDecoder().decode((await backend.get('cas'))!.value)).toBe('2');
    // Another backend (another process) compare-and-sets with a revision it read, not one it wrote.
    const other = etcdBackend({ hosts: server.url, namespace: ns });
    await other.open({ ttl: TTL, logger: recordingLogger() });
    onTestFinished(() => other.close());
    const seen = (await other.get('cas'))!;
    expect(
      (await other.put('cas', new TextEncoder().encode('4'), { expectedRevision: seen.revision })).ok,
    ).toBe(true);
    expect(await backend.delete('cas')).toBe(true);
    expect(await backend.get('cas')).toBeUndefined();
  });

  it('a value under the prefix that is not a record is skipped and logged; watchers carry on', async () => {
    const ns = freshNamespace();
    const logger = recordingLogger();
    const client = rawClient();
    await client.put(`roster/${ns}/nodes/foreign-1`).value('not json');
    await client.put(`roster/${ns}/nodes/bad/id`).value('x');
    const a = await open(ns, { logger });
    const watch = record(a);
    expect(a.list()).toEqual([]);
    await client.put(`roster/${ns}/nodes/foreign-2`).value('{"v":99}');
    await a.register({ id: 'real-1' });
    await watch.next('joined real-1', (e) => e.type === 'joined' && e.node.id === 'real-1');
    expect(a.list().map((n) => n.id)).toEqual(['real-1']);
    expect(logger.warnings.some((w) => w.includes('foreign-1'))).toBe(true);
    // foreign-2 arrives through the feed; real-1 was applied locally as soon as it was written.
    await waitFor('a warning naming foreign-2', () => logger.warnings.some((w) => w.includes('foreign-2')));
    expect(logger.warnings.some((w) => w.includes('nodes/bad/id'))).toBe(true);
  });

  it('another ttl on an existing namespace is a ConfigMismatchError', async () => {
    const ns = freshNamespace();
    await open(ns);
    await expect(
      createDiscovery({ backend: etcdBackend({ hosts: server.url, namespace: ns }), ttl: TTL + 1000 }),
    ).rejects.toBeInstanceOf(ConfigMismatchError);
  });

  it('an unreachable cluster rejects BackendUnavailableError within the connect timeout', async () => {
    const closedPort = await freePort();
    let started = Date.now();
    await expect(
      createDiscovery({
        backend: etcdBackend({ hosts: `http://127.0.0.1:${closedPort}`, connectTimeout: 1000 }),
        ttl: TTL,
      }),
    ).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
    // A server that accepts connections and never answers: only the deadline ends the wait.
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void silent.close());
    const port = (silent.address() as { port: number }).port;
    started = Date.now();
    await expect(
      createDiscovery({
        backend: etcdBackend({ hosts: `http://127.0.0.1:${port}`, connectTimeout: 1000 }),
        ttl: TTL,
      }),
    ).rejects.toThrow(/did not answer within 1000 ms|unavailable/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a client passed in is used and never closed', async () => {
    const ns = freshNamespace();
    const client = rawClient();
    const a = await createDiscovery({ backend: etcdBackend({ client, namespace: ns }), ttl: TTL });
    await a.register({ id: 'mine-1' });
    await a.close();
    expect(await client.get(`roster/${ns}/nodes/mine-1`).string()).toBeNull();
    await client.put('still-open').value('yes');
    expect(await client.get('still-open').string()).toBe('yes');
  });
});

describe.sequential('etcd with auth', () => {
  let secured: ServiceHandle;
  afterAll(() => secured?.stop());

  it('a user limited to the prefix works; wrong credentials and a foreign prefix get clear errors', async () => {
    secured = await startEtcd();
    const root = new Etcd3({ hosts: secured.url });
    await root.role('root').create();
    await root.user('root').create('root-pw');
    await root.user('root').addRole('root');
    // The role Roster needs (README): readwrite on the prefix, nothing else.
    await root.role('roster-app').create();
    await root
      .role('roster-app')
      .grant({ permission: 'Readwrite', range: root.range({ prefix: 'roster/' }) });
    await root.user('app').create('app-pw');
    await root.user('app').addRole('roster-app');
    await root.auth.authEnable();
    root.close();

    const ns = freshNamespace();
    const auth = { username: 'app', password: 'app-pw' };
    const a = await createDiscovery({
      backend: etcdBackend({ hosts: secured.url, namespace: ns, auth }),
      ttl: TTL,
    });
    onTestFinished(() => a.close());
    const b = await createDiscovery({
      backend: etcdBackend({ hosts: secured.url, namespace: ns, auth }),
      ttl: TTL,
    });
    onTestFinished(() => b.close());
    const watch = record(b);
    await a.register({ id: 'auth-1' });
    await watch.next('joined auth-1', (e) => e.type === 'joined' && e.node.id === 'auth-1');
    await a.unregister('auth-1');
    const left = await watch.next('left auth-1', (e) => e.type === 'left');
    expect(left.event).toMatchObject({ reason: 'unregistered' });

    const wrong = createDiscovery({
      backend: etcdBackend({
        hosts: secured.url,
        namespace: ns,
        auth: { username: 'app', password: 'nope' },
      }),
      ttl: TTL,
    });
    await expect(wrong).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(wrong).rejects.toThrow(/rejected the credentials/);

    const outside = createDiscovery({
      backend: etcdBackend({ hosts: secured.url, namespace: ns, auth, prefix: 'elsewhere' }),
      ttl: TTL,
    });
    await expect(outside).rejects.toThrow(/denied permission/);
  }, 60_000);
});
