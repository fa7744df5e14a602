import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  BackendAuthError,
  BackendUnavailableError,
  ConfigMismatchError,
  createDiscovery,
  type DiscoveryOptions,
  type NodeDiscovery,
} from '@roster/core';
import { describeConformance, Recorder, waitFor, wellFormedProblem } from '@roster/core/conformance';
import type { BackendChange } from '@roster/core/spi';
import {
  captureLogger,
  type EtcdClusterHandle,
  ensureBuilt,
  freePort,
  freshNamespace,
  open as openForTest,
  type ServiceHandle,
  startEtcd,
  startEtcdCluster,
  startOwnerProcess,
} from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { etcdBackend } from '../src/index.js';
import { prefixEnd } from '../src/key-layout.js';

const server: ServiceHandle = await startEtcd();
afterAll(() => server.stop());

// The suite runs at its default ttl (1 s: the test server, with a 250 ms election timeout, grants
// 1 s leases). The etcd-specific cases run at 2 s, the shortest ttl a default etcd server (1 s
// election timeout) serves with silent heartbeats. On a heavily loaded 2-core machine the 1 s
// leases are the first thing to suffer: during the 1,000-node registration burst etcd's backlog
// can outlast a lease, and a keep-alive of a lease that ran out waits for its revoke.
const TTL = 2000;
const GRACE = Math.max(1000, TTL / 4);

describeConformance({
  name: 'etcd',
  createBackend: ({ namespace }) => etcdBackend({ hosts: server.url, namespace }),
  faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
  ownerProcess: (context) => owner(context),
});

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The test kit's owner process on this package: owns `id` and heartbeats it until killed. */
function owner(context: { namespace: string; id: string; ttl: number }) {
  return startOwnerProcess({
    packageDir,
    factory: 'etcdBackend',
    backend: { hosts: server.url },
    ...context,
  });
}

// ---- etcd-specific ------------------------------------------------------------------------------

/** A discovery on the test server, closed when the test ends. */
function open(namespace: string, options: Partial<DiscoveryOptions> = {}): Promise<NodeDiscovery> {
  return openForTest(() =>
    createDiscovery({ backend: etcdBackend({ hosts: server.url, namespace }), ttl: TTL, ...options }),
  );
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

describe.sequential('etcd', () => {
  it('a server restart keeps the records; watchers resume without a spurious left', async () => {
    const ns = freshNamespace('et');
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

  it('an owner killed with SIGKILL leaves expired within ttl + the bound', async () => {
    ensureBuilt(packageDir); // before the clock starts: a stale build is rebuilt synchronously
    const ns = freshNamespace('et');
    const watcher = await open(ns);
    const watch = record(watcher);
    const victim = await owner({ namespace: ns, id: 'victim-1', ttl: TTL });
    await watch.next('joined victim-1', (e) => e.type === 'joined' && e.node.id === 'victim-1');
    // Heartbeats are lease keep-alives (silent): time from the owner's last one.
    const ready = await victim.killAfterHeartbeat();
    const left = await watch.next(
      'left victim-1',
      (e) => e.type === 'left' && e.node.id === 'victim-1',
      0,
      15_000,
    );
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - ready).toBeLessThanOrEqual(TTL + GRACE);
    expect(left.at - ready).toBeGreaterThanOrEqual(TTL - 50);
  }, 30_000);

  it('a pause beyond the ttl loses the leases; owners get a new one and views converge', async () => {
    const ns = freshNamespace('et');
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
    const ns = freshNamespace('et');
    const raw = etcdBackend({ hosts: server.url, namespace: ns });
    await raw.open({ ttl: TTL, logger: captureLogger() });
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
    const ns = freshNamespace('et');
    const writer = etcdBackend({ hosts: server.url, namespace: ns });
    await writer.open({ ttl: TTL, logger: captureLogger() });
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
    const ns = freshNamespace('et');
    const backend = etcdBackend({ hosts: server.url, namespace: ns });
    await backend.open({ ttl: TTL, logger: captureLogger() });
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
    await other.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => other.close());
    const seen = (await other.get('cas'))!;
    expect(
      (await other.put('cas', new TextEncoder().encode('4'), { expectedRevision: seen.revision })).ok,
    ).toBe(true);
    expect(await backend.delete('cas')).toBe(true);
    expect(await backend.get('cas')).toBeUndefined();
  });

  it('a value under the prefix that is not a record is skipped and logged; watchers carry on', async () => {
    const ns = freshNamespace('et');
    const logger = captureLogger();
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
    const ns = freshNamespace('et');
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
    ).rejects.toThrow(/did not answer within 1000 ms \(connectTimeout\)/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a client passed in is used and never closed', async () => {
    const ns = freshNamespace('et');
    const client = rawClient();
    const a = await createDiscovery({ backend: etcdBackend({ client, namespace: ns }), ttl: TTL });
    await a.register({ id: 'mine-1' });
    await a.close();
    expect(await client.get(`roster/${ns}/nodes/mine-1`).string()).toBeNull();
    await client.put('still-open').value('yes');
    expect(await client.get('still-open').string()).toBe('yes');
  });
});

/** The store's current revision, read with a client of the test's own. */
async function headRevision(client: Etcd3): Promise<number> {
  return Number((await client.kv.range({ key: Buffer.from('roster-probe') })).header.revision);
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe.sequential('etcd heartbeats without fan-out (rule 2)', () => {
  // A server of their own: nodes other cases left to expire would move the revision meanwhile.
  let quiet: ServiceHandle;
  const openQuiet = async (namespace: string) => {
    quiet ??= await startEtcd();
    const discovery = await createDiscovery({
      backend: etcdBackend({ hosts: quiet.url, namespace }),
      ttl: TTL,
    });
    // Unregistered at the end, so the next case does not see these nodes expire.
    onTestFinished(() => discovery.close().catch(() => {}));
    return discovery;
  };
  afterAll(() => quiet?.stop());

  it('an idle cluster creates no revisions and sends watchers nothing; owners stay alive', async () => {
    const ns = freshNamespace('et');
    const owners = [await openQuiet(ns), await openQuiet(ns), await openQuiet(ns)];
    const watcher = await openQuiet(ns);
    const watch = record(watcher);
    const registered = await Promise.all(
      owners.flatMap((owner, i) => [0, 1, 2].map((j) => owner.register({ id: `idle-${i}-${j}` }))),
    );
    await waitFor('9 joined', () => watch.events.length === 9);
    const client = rawClient(quiet.url);
    const before = await headRevision(client);
    // The subject of this case is time passing: five heartbeat intervals (ttl / 3 each), then a
    // look at what they wrote.
    await new Promise((resolve) => setTimeout(resolve, (5 * TTL) / 3));
    expect(await headRevision(client)).toBe(before);
    expect(watch.summary()).toHaveLength(9);
    // Other instances show the lastSeen of the record as last written; the owner's is exact.
    for (const node of registered) {
      expect(watcher.get(node.id)?.instanceId).toBe(node.instanceId);
      expect(watcher.get(node.id)?.lastSeen).toBe(node.lastSeen);
      const owner = owners[Number(node.id.split('-')[1])]!;
      expect(owner.get(node.id)!.lastSeen, `${node.id} at its owner`).toBeGreaterThan(node.lastSeen);
    }
    const fresh = await openQuiet(ns);
    expect(fresh.list()).toHaveLength(9);
  }, 30_000);

  it('a plain heartbeat is a keep-alive: same revision, nothing in the feed, the TTL restarts', async () => {
    const ns = freshNamespace('et');
    quiet ??= await startEtcd();
    const owner = etcdBackend({ hosts: quiet.url, namespace: ns });
    await owner.open({ ttl: 1100, logger: captureLogger() });
    onTestFinished(() => owner.close());
    expect(owner.supports).toMatchObject({ silentHeartbeats: true, nativeExpiryEvents: true });
    const first = await owner.put('beat-1', bytes('v1'));
    const revision = first.ok ? first.revision : -1;
    const changes: BackendChange[] = [];
    const feed = owner.watch(String(revision), (change) => changes.push(change));
    onTestFinished(() => feed.stop());
    const client = rawClient(quiet.url);
    const prefix = Buffer.from(`roster/${ns}/`);
    const newest = async () =>
      Math.max(
        ...(await client.kv.range({ key: prefix, range_end: prefixEnd(prefix), keys_only: true })).kvs.map(
          (kv) => Number(kv.mod_revision),
        ),
      );
    const head = await newest();
    // Well past the ttl in total: each refresh restarted it.
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      expect(
        await owner.put('beat-1', bytes(`v${i + 2}`), { expectedRevision: revision, refreshOnly: true }),
      ).toEqual({
        ok: true,
        revision,
      });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 400 - Date.now())));
    }
    expect(await newest()).toBe(head);
    expect(new TextDecoder().decode((await owner.get('beat-1'))!.value)).toBe('v1');
    expect(changes).toEqual([]);
  }, 20_000);

  it('a plain heartbeat checks the revision: a record another writer replaced is a conflict', async () => {
    const ns = freshNamespace('et');
    const a = etcdBackend({ hosts: server.url, namespace: ns });
    const b = etcdBackend({ hosts: server.url, namespace: ns });
    await a.open({ ttl: TTL, logger: captureLogger() });
    await b.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => {}));
    const mine = await a.put('cas-beat', bytes('a'));
    const r1 = mine.ok ? mine.revision : -1;
    const theirs = await b.put('cas-beat', bytes('b'));
    const r2 = theirs.ok ? theirs.revision : -1;
    expect(await a.put('cas-beat', bytes('a2'), { expectedRevision: r1, refreshOnly: true })).toEqual({
      ok: false,
    });
    expect(await a.put('cas-beat', bytes('a3'), { expectedRevision: r2 + 1, refreshOnly: true })).toEqual({
      ok: false,
    });
    expect(await b.put('cas-beat', bytes('b2'), { expectedRevision: r2, refreshOnly: true })).toEqual({
      ok: true,
      revision: r2,
    });
    // Another tool overwrote it without a lease: the owner's lease alone must not keep beating.
    await rawClient().put(`roster/${ns}/nodes/cas-beat`).value('foreign');
    expect(await b.put('cas-beat', bytes('b3'), { expectedRevision: r2, refreshOnly: true })).toEqual({
      ok: false,
    });
    // A deleted key is a conflict too, and a refresh of a missing key without a condition stores it.
    expect(await b.delete('cas-beat')).toBe(true);
    expect(await b.put('cas-beat', bytes('b4'), { expectedRevision: r2, refreshOnly: true })).toEqual({
      ok: false,
    });
    const stored = await b.put('cas-beat', bytes('b5'), { refreshOnly: true });
    expect(stored.ok).toBe(true);
    expect(new TextDecoder().decode((await a.get('cas-beat'))!.value)).toBe('b5');
  });

  it('history skips plain heartbeats and returns at most limit states', async () => {
    const ns = freshNamespace('et');
    const a = await open(ns, { autoHeartbeat: false });
    await a.register({ id: 'h-1', load: 1 });
    await a.heartbeat('h-1');
    await a.heartbeat('h-1', 2);
    await a.heartbeat('h-1');
    await a.heartbeat('h-1', 3);
    await a.heartbeat('h-1');
    expect((await a.history('h-1', 10)).map((n) => n.load)).toEqual([3, 2, 1]);
    expect((await a.history('h-1', 2)).map((n) => n.load)).toEqual([3, 2]);
  });
});

describe('etcd leases', () => {
  it('unconditional puts (mirror, copy, follow) leave no lease behind', async () => {
    const ns = freshNamespace('et');
    const backend = etcdBackend({ hosts: server.url, namespace: ns });
    await backend.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => backend.close());
    const client = rawClient();
    const count = async () => (await client.leaseClient.leaseLeases()).leases.length;
    await backend.put('copy-1', bytes('0'));
    await backend.put('copy-2', bytes('0'));
    const baseline = await count();
    for (let i = 1; i <= 20; i++) {
      await backend.put('copy-1', bytes(String(i)));
      await backend.put('copy-2', bytes(String(i)), { refreshOnly: true });
    }
    // Former leases are revoked in the background; spares are refilled to at most 4.
    await waitFor(`at most ${baseline + 4} leases`, async () => (await count()) <= baseline + 4);
    const leaseOf = async (id: string) =>
      (await client.kv.range({ key: Buffer.from(`roster/${ns}/nodes/${id}`) })).kvs[0]!.lease;
    const lease = await leaseOf('copy-1');
    await backend.put('copy-1', bytes('last'));
    await waitFor(
      'the former lease of copy-1 revoked',
      async () => (await client.leaseClient.leaseTimeToLive({ ID: lease })).TTL === '-1',
    );
  }, 20_000);
});

/** Fractional and whole ttls on the test server (1 s leases): rule 4 and rule 18 of docs/guarantees.md. */
describe.concurrent('etcd ttl bounds', () => {
  for (const ttl of [1100, 10_000 / 3, 3500]) {
    it(`ttl ${ttl.toFixed(0)}: an owner that closes without unregistering leaves expired within the bound`, async ({
      expect,
      onTestFinished: finished,
    }) => {
      const ns = freshNamespace('et');
      const opened: NodeDiscovery[] = [];
      finished(() =>
        Promise.all(opened.map((d) => d.close({ unregister: false }).catch(() => {}))).then(() => {}),
      );
      const make = async (options: Partial<DiscoveryOptions> = {}) => {
        const d = await createDiscovery({
          backend: etcdBackend({ hosts: server.url, namespace: ns }),
          ttl,
          ...options,
        });
        opened.push(d);
        return d;
      };
      const watcher = await make();
      const owner = await make({ autoHeartbeat: false });
      const watch = new Recorder(watcher);
      finished(() => watch.stop());
      await owner.register({ id: 'gone-1' });
      await watch.next('joined gone-1', (e) => e.type === 'joined');
      const before = Date.now();
      await owner.heartbeat('gone-1');
      const after = Date.now();
      await owner.close({ unregister: false });
      const left = await watch.next('left gone-1', (e) => e.type === 'left', 0, ttl * 3 + 5000);
      expect(left.event).toMatchObject({ reason: 'expired' });
      expect(left.at - before, 'left before the ttl ran out').toBeGreaterThanOrEqual(ttl - 5);
      expect(left.at - after, 'left later than ttl + max(1 s, ttl / 4)').toBeLessThanOrEqual(
        ttl + Math.max(1000, ttl / 4),
      );
    }, 30_000);
  }
});

/** Runs a fixture as its own process; lines it prints are kept with their arrival time. */
function runFixture(name: string, args: string[]) {
  ensureBuilt(packageDir);
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  onTestFinished(() => void child.kill('SIGKILL'));
  const lines: { text: string; at: number }[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const text of parts) lines.push({ text, at: Date.now() });
  });
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));
  const line = (prefix: string, timeout = 15_000) =>
    waitFor(
      `the fixture to print "${prefix}…" (printed: ${lines.map((l) => l.text).join(' | ')})`,
      () => lines.find((l) => l.text.startsWith(prefix)),
      timeout,
    );
  return { child, line, exited };
}

describe.sequential('etcd with a default server (2 s minimum lease): the observed plan', () => {
  let slow: ServiceHandle | undefined;
  afterAll(() => slow?.stop());
  const ttl = 1100;
  const grace = Math.max(1000, ttl / 4);

  it('ttl 1100: heartbeats are writes, observers expire a silent node within the bound, a live one never', async () => {
    // One member with etcd's default 1 s election timeout: it grants no lease under 2 s.
    slow ??= await startEtcdCluster({ size: 1 });
    const hosts = slow.url;
    const ns = freshNamespace('et');
    const raw = etcdBackend({ hosts, namespace: ns });
    await raw.open({ ttl, logger: captureLogger() });
    onTestFinished(() => raw.close());
    expect(raw.supports).toMatchObject({ nativeExpiryEvents: false, silentHeartbeats: false });
    const opened: NodeDiscovery[] = [];
    onTestFinished(() =>
      Promise.all(opened.map((d) => d.close({ unregister: false }).catch(() => {}))).then(() => {}),
    );
    const make = async (options: Partial<DiscoveryOptions> = {}) => {
      const d = await createDiscovery({ backend: etcdBackend({ hosts, namespace: ns }), ttl, ...options });
      opened.push(d);
      return d;
    };
    const watcher = await make();
    const alive = await make();
    const owner = await make({ autoHeartbeat: false });
    const watch = record(watcher);
    const kept = await alive.register({ id: 'kept-1' });
    await owner.register({ id: 'gone-1' });
    await watch.next('joined gone-1', (e) => e.type === 'joined' && e.node.id === 'gone-1');
    const before = Date.now();
    await owner.heartbeat('gone-1');
    const after = Date.now();
    await owner.close({ unregister: false });
    const left = await watch.next(
      'left gone-1',
      (e) => e.type === 'left' && e.node.id === 'gone-1',
      0,
      10_000,
    );
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - before, 'left before the ttl ran out').toBeGreaterThanOrEqual(ttl - 5);
    expect(left.at - after, 'left later than ttl + max(1 s, ttl / 4)').toBeLessThanOrEqual(ttl + grace);
    expect(await raw.get('gone-1')).toBeUndefined();
    // The node that kept heartbeating (writes, under the server's 2 s lease) was never expired.
    await new Promise((resolve) => setTimeout(resolve, 3 * ttl - (Date.now() - before)));
    expect(watch.summary('kept-1')).toEqual(['joined:kept-1']);
    expect(watcher.get('kept-1')!.lastSeen).toBeGreaterThan(kept.lastSeen);
  }, 30_000);
});

describe.sequential('etcd request timeout (rule 14)', () => {
  it('with the server frozen, every call settles within requestTimeout and close() finishes', async () => {
    const ns = freshNamespace('et');
    const options = { hosts: server.url, namespace: ns, requestTimeout: 1000, connectTimeout: 1000 };
    const raw = etcdBackend(options);
    await raw.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => raw.close());
    const discovery = await createDiscovery({
      backend: etcdBackend(options),
      ttl: TTL,
      autoHeartbeat: false,
    });
    onTestFinished(() => discovery.close({ unregister: false }).catch(() => {}));
    await discovery.register({ id: 'ice-1' });
    await discovery.register({ id: 'ice-2' });
    const stored = await raw.put('ice-raw', bytes('x'));
    const revision = stored.ok ? stored.revision : -1;
    const thawed = server.pause(4000);
    onTestFinished(() => thawed);
    const timed = async (what: string, call: () => Promise<unknown>) => {
      const started = Date.now();
      const outcome = await call().then(
        () => 'resolved',
        (error: { code?: string }) => error.code ?? String(error),
      );
      return { what, outcome, took: Date.now() - started };
    };
    const results = await Promise.all([
      timed('put', () => raw.put('ice-raw', bytes('y'), { expectedRevision: revision })),
      timed('refresh', () =>
        raw.put('ice-raw', bytes('y'), { expectedRevision: revision, refreshOnly: true }),
      ),
      timed('create', () => raw.put('ice-new', bytes('y'))),
      timed('delete', () => raw.delete('ice-raw')),
      timed('get', () => raw.get('ice-raw')),
      timed('list', () => raw.list()),
      timed('history', () => raw.history!('ice-raw', 5)),
      timed('open', () => etcdBackend(options).open({ ttl: TTL, logger: captureLogger() })),
      timed('register', () => discovery.register({ id: 'ice-3' })),
      timed('heartbeat', () => discovery.heartbeat('ice-1')),
      timed('unregister', () => discovery.unregister('ice-2')),
    ]);
    for (const result of results) {
      expect(result.outcome, result.what).toBe('ERR_BACKEND_UNAVAILABLE');
      expect(result.took, result.what).toBeLessThan(1000 + 500);
    }
    const closing = await timed('close', () => discovery.close());
    expect(closing).toMatchObject({ outcome: 'resolved' });
    expect(closing.took).toBeLessThan(2 * 1000 + 500);
    const rawClosing = await timed('raw close', () => raw.close());
    expect(rawClosing.took).toBeLessThan(500);
  }, 30_000);

  it('a process exits by itself after close() against a frozen server', async () => {
    const ns = freshNamespace('et');
    const fixture = runFixture('close-exits.mjs', [server.url, ns, 'frozen']);
    await fixture.line('ready');
    const thawed = server.pause(6000);
    onTestFinished(() => thawed);
    fixture.child.stdin!.write('go\n');
    const beat = await fixture.line('heartbeat');
    expect(beat.text).toMatch(/^heartbeat \d+ ERR_BACKEND_UNAVAILABLE$/);
    expect(Number(beat.text.split(' ')[1])).toBeLessThan(1500);
    const closed = await fixture.line('closed');
    expect(Number(closed.text.split(' ')[1])).toBeLessThan(2500);
    const exitAt = await Promise.race([
      fixture.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 3000)),
    ]);
    expect(exitAt, 'the process was still running 3 s after close()').toBeGreaterThan(0);
  }, 30_000);

  it('a process exits by itself after a failed open (a server that never answers)', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void silent.close());
    const port = (silent.address() as { port: number }).port;
    const fixture = runFixture('close-exits.mjs', [
      `http://127.0.0.1:${port}`,
      freshNamespace('et'),
      'failed-open',
    ]);
    const failed = await fixture.line('failed');
    expect(failed.text).toMatch(/^failed \d+ ERR_BACKEND_UNAVAILABLE$/);
    expect(Number(failed.text.split(' ')[1])).toBeLessThan(1500);
    const exitAt = await Promise.race([
      fixture.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 3000)),
    ]);
    expect(exitAt, 'the process was still running 3 s after the failed open').toBeGreaterThan(0);
  }, 30_000);
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

    const ns = freshNamespace('et');
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
    await expect(wrong).rejects.toBeInstanceOf(BackendAuthError);
    await expect(wrong).rejects.toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    await expect(wrong).rejects.toThrow(/refused the credentials/);

    const outside = createDiscovery({
      backend: etcdBackend({ hosts: secured.url, namespace: ns, auth, prefix: 'elsewhere' }),
      ttl: TTL,
    });
    await expect(outside).rejects.toBeInstanceOf(BackendAuthError);
    await expect(outside).rejects.toThrow(/denied permission/);
  }, 60_000);
});

/** How many watchers etcd member `url` serves (its `etcd_debugging_mvcc_watcher_total` gauge). */
async function watchersOn(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('etcd_debugging_mvcc_watcher_total '));
  if (!line) throw new Error(`no watcher gauge in the metrics of ${url}`);
  return Number(line.split(' ')[1]);
}

describe.sequential('etcd cluster: a member that stops answering', () => {
  let cluster: EtcdClusterHandle | undefined;
  afterAll(() => cluster?.stop());

  it('an owner whose member freezes beyond the ttl moves its heartbeats to the other member: nothing expires', async () => {
    cluster ??= await startEtcdCluster({ size: 3 });
    await cluster.waitUntilHealthy();
    const leader = (await cluster.leader()) ?? 0;
    // A follower: a frozen leader trips an etcd bug of its own (see the README's cluster section).
    const frozen = (leader + 1) % 3;
    const ns = freshNamespace('ef');
    // 4 s: silent heartbeats on a 1 s election timeout (2 s minimum lease); a heartbeat that
    // waited out the 5 s request timeout on the frozen member would leave the node expired.
    const ttl = 4_000;
    const lost: string[] = [];
    // The owner knows only the frozen member and the leader: about half its calls and streams
    // start on the member about to freeze.
    const ownerHosts = [cluster.urls[frozen]!, cluster.urls[leader]!];
    const owner = await openForTest(() =>
      createDiscovery({
        backend: etcdBackend({ hosts: ownerHosts, namespace: ns }),
        ttl,
        onOwnNodeLost: (node, reason) => lost.push(`${node.id} (${reason})`),
      }),
    );
    const watcher = await openForTest(() =>
      createDiscovery({ backend: etcdBackend({ hosts: cluster!.urls[leader]!, namespace: ns }), ttl }),
    );
    const watch = record(watcher);
    const nodes = await Promise.all(['fz-1', 'fz-2', 'fz-3'].map((id) => owner.register({ id })));
    await waitFor('the watcher to see fz-1..3', () => watcher.list().length === 3, 10_000);
    const mark = watch.seen.length;

    await cluster.isolate(frozen, ttl + 2_000);

    expect(lost, 'rule 4: the owner kept heartbeating, yet lost nodes').toEqual([]);
    expect(
      watch.seen.slice(mark).map((s) => `${s.event.type}:${s.event.node.id}`),
      'rule 4: the watcher saw an owned, heartbeating node leave',
    ).toEqual([]);
    for (const node of nodes) expect(owner.get(node.id)?.instanceId).toBe(node.instanceId);
    // Still served after the thaw, by whichever member the owner reaches.
    await expect(owner.heartbeat('fz-1')).resolves.toBeUndefined();
  }, 45_000);

  it('a watch whose member freezes moves to another member: a change made meanwhile arrives before the thaw', async () => {
    cluster ??= await startEtcdCluster({ size: 3 });
    await cluster.waitUntilHealthy();
    const urls = cluster.urls;
    const leader = (await cluster.leader()) ?? 0;
    // A follower, as above.
    const frozen = (leader + 1) % 3;
    const ns = freshNamespace('ew');
    const ttl = 4_000;
    // The writer knows only the leader: its own watch never sits on the member that freezes.
    const writer = await openForTest(() =>
      createDiscovery({ backend: etcdBackend({ hosts: urls[leader]!, namespace: ns }), ttl }),
    );
    // The watcher knows the member about to freeze and the leader; its watch stream lands on one of
    // them at random, so it is opened again until etcd's watcher gauge shows it on the former.
    let watcher: NodeDiscovery | undefined;
    for (let attempt = 0; attempt < 20 && !watcher; attempt++) {
      const candidate = await createDiscovery({
        backend: etcdBackend({ hosts: [urls[frozen]!, urls[leader]!], namespace: ns }),
        ttl,
      });
      const counts = await waitFor('the writer and the watcher to have one etcd watch each', async () => {
        const perMember = await Promise.all(urls.map(watchersOn));
        return perMember.reduce((a, b) => a + b, 0) === 2 ? perMember : undefined;
      });
      if (counts[frozen] === 1) watcher = candidate;
      else await candidate.close({ unregister: false });
    }
    if (!watcher) throw new Error('in 20 tries, no watcher had its watch on the member to freeze');
    onTestFinished(() => watcher.close({ unregister: false }).catch(() => {}));
    const watch = record(watcher);
    await writer.register({ id: 'mv-1' });
    await watch.joined('mv-1', 10_000);

    const freezeMs = 12_000;
    const thawAt = Date.now() + freezeMs;
    const thawed = cluster.isolate(frozen, freezeMs);
    onTestFinished(() => thawed);
    await writer.register({ id: 'mv-2' });
    // Moving takes seconds (feed-liveness.ts: 3 s of silence, then a new watch on the leader):
    // without the move, mv-2 would arrive only once the member thaws.
    const joined = await watch.joined('mv-2', thawAt - Date.now() - 2_000);
    expect(joined.at, 'mv-2 reached the watcher only after the thaw').toBeLessThan(thawAt);
    await writer.unregister('mv-1');
    await watch.left('mv-1', thawAt - Date.now());
    await thawed;
    // The moved feed goes on after the thaw, and nothing was shown twice or out of order.
    await writer.register({ id: 'mv-3' });
    await watch.joined('mv-3', 10_000);
    expect(watch.summary()).toEqual(['joined:mv-1', 'joined:mv-2', 'left:mv-1:unregistered', 'joined:mv-3']);
    expect(wellFormedProblem(watch.events)).toBeUndefined();
  }, 90_000);
});
