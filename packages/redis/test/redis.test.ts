import {
  BackendAuthError,
  BackendUnavailableError,
  ConfigMismatchError,
  createDiscovery,
  InvalidOptionsError,
} from '@roster/core';
import { DelegatingBackend, describeConformance } from '@roster/core/conformance';
import type { BackendChange, BackendWatch, DiscoveryBackend } from '@roster/core/spi';
import { freePort, startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';
import {
  captureLogger,
  ensureBuilt,
  freshNamespace,
  open,
  Recorder,
  spawnOwner,
  TTL,
  view,
  waitFor,
} from './helpers.js';

const server = await startRedis({ appendonly: true });
afterAll(() => server.stop());

describeConformance({
  name: 'redis',
  createBackend: ({ namespace }) => redisBackend({ url: server.url, namespace }),
  faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
  ownerProcess: ({ namespace, id }) => spawnOwner(server.url, namespace, id),
});

/** Exactly the ACL the README documents (after the user, keys and `-@all`). */
const ACL_COMMANDS =
  '+info +evalsha +eval +xread +exists +get +set +del +incr +hget +hset +hdel +hgetall +xadd +xdel +xack +xclaim +xpending +xrange +xgroup|create +xinfo|stream +lpush +ltrim +lrange +pexpire +time';

/** The bound of rule 4: `left expired` no later than this after the last heartbeat. */
const EXPIRY_BOUND = TTL + Math.max(1_000, TTL / 4);

describe('redis: server restarts', () => {
  it('with AOF: nodes survive a restart with the same instanceId and nobody sees them leave', async () => {
    const namespace = freshNamespace('aof');
    // A ttl well above the restart time: this case is about durability, not expiry.
    const a = await open({ url: server.url, namespace }, { ttl: 5_000 });
    const b = await open({ url: server.url, namespace }, { ttl: 5_000 });
    const watch = new Recorder(b);
    const before = await a.register({ id: 'durable-1', metadata: { role: 'api' } });
    await waitFor('durable-1 at b', () => b.get('durable-1'));
    await server.restart();
    await a.register({ id: 'after-restart' });
    await waitFor('after-restart at b', () => b.get('after-restart'));
    expect(b.get('durable-1')?.instanceId).toBe(before.instanceId);
    expect(a.get('durable-1')?.instanceId).toBe(before.instanceId);
    await a.heartbeat('durable-1');
    expect(watch.summary('durable-1')).toEqual(['joined:durable-1']);
  }, 60_000);

  it('without persistence: the records are gone, owners register again and views converge', async () => {
    const volatile = await startRedis();
    onTestFinished(() => volatile.stop());
    const namespace = freshNamespace('vol');
    const logger = captureLogger();
    const a = await open({ url: volatile.url, namespace }, { logger });
    const b = await open({ url: volatile.url, namespace });
    const watch = new Recorder(b);
    const va = await a.register({ id: 'v-a' });
    const vb = await b.register({ id: 'v-b' });
    await waitFor('both nodes at a and b', () => a.list().length === 2 && b.list().length === 2);
    await volatile.restart();
    const c = await open({ url: volatile.url, namespace });
    await waitFor(
      'a, b and a fresh instance agree on v-a and v-b, registered again',
      () =>
        c
          .list()
          .map((n) => n.id)
          .join(',') === 'v-a,v-b' &&
        view(a) === view(b) &&
        view(a) === view(c) &&
        a.get('v-a')?.instanceId !== va.instanceId &&
        b.get('v-b')?.instanceId !== vb.instanceId,
      20_000,
    );
    await a.heartbeat('v-a');
    await b.heartbeat('v-b');
    // The operator was told at open that this server keeps nothing across a restart.
    expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('no AOF or RDB'))).toBe(true);
    // b saw v-a leave and come back under its new instance: never a stale view.
    expect(watch.summary('v-a')[0]).toBe('joined:v-a');
    expect(watch.summary('v-a').at(-1)).toBe('joined:v-a');
  }, 60_000);
});

describe('redis: expiry', () => {
  beforeAll(() => ensureBuilt(), 60_000);

  it('an owner killed with SIGKILL leaves expired at every watcher within ttl + max(1 s, ttl/4)', async () => {
    const namespace = freshNamespace('kill');
    const a = await open({ url: server.url, namespace });
    const b = await open({ url: server.url, namespace });
    const watchA = new Recorder(a);
    const watchB = new Recorder(b);
    const owner = await spawnOwner(server.url, namespace, 'victim-1');
    await waitFor('victim-1 at a and b', () => a.get('victim-1') && b.get('victim-1'));
    // Heartbeats are silent (rule 2): watchers never see them, so time from the owner's last one.
    const lastHeartbeat = await owner.killAfterHeartbeat();
    const killedAt = Date.now();
    for (const watch of [watchA, watchB]) {
      const left = await waitFor('left victim-1', () =>
        watch.find((e) => e.type === 'left' && e.node.id === 'victim-1'),
      );
      expect(left.event).toMatchObject({
        type: 'left',
        reason: 'expired',
        node: { instanceId: owner.registered.instanceId },
      });
      expect(left.at - lastHeartbeat).toBeGreaterThanOrEqual(TTL);
      expect(left.at - killedAt).toBeLessThanOrEqual(EXPIRY_BOUND);
    }
    expect(watchA.summary('victim-1')).toEqual(['joined:victim-1', 'left:victim-1:expired']);
    expect(watchB.summary('victim-1')).toEqual(['joined:victim-1', 'left:victim-1:expired']);
  }, 30_000);

  it('the sweeper itself killed with SIGKILL: the standby takes over and its node leaves expired within the bound', async () => {
    const namespace = freshNamespace('sweeper');
    // Alone in the namespace, the owner process takes the sweeper lease; a and b come later.
    const owner = await spawnOwner(server.url, namespace, 'sweeper-1');
    const admin = new Redis(server.url);
    onTestFinished(async () => {
      await admin.quit();
    });
    const lease = `{roster:${namespace}}:sweeper`;
    const ownerLease = await admin.get(lease);
    expect(ownerLease).not.toBeNull();
    const a = await open({ url: server.url, namespace });
    const b = await open({ url: server.url, namespace });
    const watch = new Recorder(b);
    await waitFor('sweeper-1 at a and b', () => a.get('sweeper-1') && b.get('sweeper-1'));
    await waitFor('a standby', async () => (await admin.get(`{roster:${namespace}}:standby`)) !== null);
    expect(await admin.get(lease)).toBe(ownerLease);
    const killedAt = Date.now();
    await owner.kill();
    const left = await waitFor('left sweeper-1', () =>
      watch.find((e) => e.type === 'left' && e.node.id === 'sweeper-1'),
    );
    expect(left.event).toMatchObject({
      reason: 'expired',
      node: { instanceId: owner.registered.instanceId },
    });
    expect(left.at - killedAt).toBeLessThanOrEqual(EXPIRY_BOUND);
    // Another instance sweeps now.
    const now = await admin.get(lease);
    expect(now).not.toBeNull();
    expect(now).not.toBe(ownerLease);
  }, 30_000);

  it('a pause beyond the ttl: a silent node leaves expired, a heartbeating owner keeps its node', async () => {
    const namespace = freshNamespace('pause');
    const a = await open({ url: server.url, namespace });
    const b = await open({ url: server.url, namespace });
    const silent = await open({ url: server.url, namespace }, { autoHeartbeat: false, reregister: false });
    const watch = new Recorder(b);
    await a.register({ id: 'alive-1' });
    await silent.register({ id: 'silent-1' });
    await waitFor('2 nodes at b', () => b.list().length === 2);
    await server.pause(TTL * 2 + 500);
    await waitFor('silent-1 left at b', () =>
      watch.find((e) => e.type === 'left' && e.node.id === 'silent-1'),
    );
    await waitFor(
      'a and b agree on alive-1 only',
      () => view(b) === view(a) && view(a).startsWith('alive-1@') && a.list().length === 1,
    );
    await a.heartbeat('alive-1');
    expect(watch.summary('silent-1')).toEqual(['joined:silent-1', 'left:silent-1:expired']);
    expect(watch.summary('alive-1').at(-1)).toBe('joined:alive-1');
  }, 60_000);
});

/** A backend whose first watch only starts when the test says so: a watcher that fell far behind. */
function laggingFirstWatch(backend: DiscoveryBackend): { backend: DiscoveryBackend; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  class Lagging extends DelegatingBackend {
    override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
      if (!first) return super.watch(cursor, onChange);
      first = false;
      let stopped = false;
      let inner: BackendWatch | undefined;
      void gate.then(() => {
        if (!stopped) inner = this.inner.watch(cursor, onChange);
      });
      return {
        stop: async () => {
          stopped = true;
          await inner?.stop();
        },
      };
    }
  }
  const wrapper = new Lagging(backend);
  return { backend: wrapper, release };
}

describe('redis: change stream', () => {
  it('a watcher behind a trimmed stream resyncs, and its view is not stale', async () => {
    const namespace = freshNamespace('trim');
    const options = { url: server.url, namespace, streamMaxLength: 10 };
    const a = await open(options, { autoHeartbeat: false });
    await a.register({ id: 'churn-1', metadata: { round: '0' } });
    await a.register({ id: 'gone-1' });
    const logger = captureLogger();
    const lagging = laggingFirstWatch(redisBackend(options));
    const b = await createDiscovery({ backend: lagging.backend, ttl: TTL, logger, autoHeartbeat: false });
    onTestFinished(() => b.close({ unregister: false }));
    const watch = new Recorder(b);
    await waitFor('both nodes at b', () => b.list().length === 2);
    // Far more changes than the stream keeps (MAXLEN ~ 10 trims whole 100-entry nodes).
    for (let round = 1; round <= 300; round++)
      await a.register({ id: 'churn-1', metadata: { round: String(round) } });
    await a.unregister('gone-1');
    await a.register({ id: 'new-1' });
    lagging.release();
    await waitFor('b matches a', () => view(b) === view(a) && b.get('churn-1')?.metadata.round === '300');
    expect(logger.entries.some((e) => e.level === 'info' && e.message.includes('trimmed'))).toBe(true);
    expect(watch.summary('gone-1')).toEqual(['joined:gone-1', 'left:gone-1:expired']);
    expect(watch.summary('new-1')).toEqual(['joined:new-1']);
    expect(watch.summary('churn-1')).toEqual(['joined:churn-1', 'updated:churn-1']);
  }, 30_000);

  it('a watch from a cursor the stream no longer reaches delivers resync first', async () => {
    const namespace = freshNamespace('cur');
    const backend = redisBackend({ url: server.url, namespace, streamMaxLength: 10 });
    await backend.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => backend.close());
    const { cursor } = await backend.list();
    for (let i = 0; i < 250; i++) await backend.put('k-1', new TextEncoder().encode(`{"n":${i}}`));
    const changes: BackendChange[] = [];
    const watch = backend.watch(cursor, (change) => changes.push(change));
    await waitFor('a change', () => changes.length > 0);
    await watch.stop();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ type: 'resync' });
  });

  it('entries another tool adds to the stream are skipped with a warning; the feed goes on', async () => {
    const namespace = freshNamespace('xadd');
    const logger = captureLogger();
    const a = await open({ url: server.url, namespace });
    const b = await open({ url: server.url, namespace }, { logger });
    const admin = new Redis(server.url);
    onTestFinished(async () => {
      await admin.quit();
    });
    await admin.xadd(`{roster:${namespace}}:changes`, '*', 'hello', 'world');
    await a.register({ id: 'after-foreign' });
    await waitFor('after-foreign at b', () => b.get('after-foreign'));
    expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('did not write'))).toBe(true);
    expect(logger.entries.some((e) => e.message.includes('resynchronising'))).toBe(false);
  });
});

describe('redis: foreign data', () => {
  it('a value in the records hash that is not a Roster record is skipped and logged at warn', async () => {
    const namespace = freshNamespace('alien');
    const a = await open({ url: server.url, namespace });
    await a.register({ id: 'real-1' });
    const admin = new Redis(server.url);
    onTestFinished(async () => {
      await admin.quit();
    });
    await admin.hset(
      `{roster:${namespace}}:records`,
      'alien-1',
      'not json at all',
      'alien-2',
      '{"v":99,"id":"alien-2"}',
    );
    const logger = captureLogger();
    const b = await open({ url: server.url, namespace }, { logger });
    expect(b.list().map((n) => n.id)).toEqual(['real-1']);
    const warnings = logger.entries.filter((e) => e.level === 'warn').map((e) => e.message);
    expect(warnings.some((m) => m.includes('alien-1'))).toBe(true);
    expect(warnings.some((m) => m.includes('alien-2'))).toBe(true);
    // The raw backend hands the bytes over untouched (core decides they are foreign).
    const raw = redisBackend({ url: server.url, namespace });
    await raw.open({ ttl: TTL, logger: captureLogger() });
    onTestFinished(() => raw.close());
    expect(new TextDecoder().decode((await raw.get('alien-1'))?.value)).toBe('not json at all');
  });
});

describe('redis: connection, credentials and permissions', () => {
  it('an unreachable server rejects BackendUnavailableError fast', async () => {
    const port = await freePort();
    const started = Date.now();
    const opening = createDiscovery({
      backend: redisBackend({ url: `redis://127.0.0.1:${port}` }),
      ttl: TTL,
    });
    await expect(opening).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(opening).rejects.toThrow(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a connect timeout bounds the wait for a server that does not answer', async () => {
    const frozen = await startRedis();
    onTestFinished(() => frozen.stop());
    await frozen.suspend();
    onTestFinished(() => frozen.resume());
    const started = Date.now();
    const opening = createDiscovery({
      backend: redisBackend({ url: frozen.url, connectTimeout: 500 }),
      ttl: TTL,
    });
    await expect(opening).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  describe('on a server with a password', () => {
    let secured: Awaited<ReturnType<typeof startRedis>>;
    beforeAll(async () => {
      secured = await startRedis({ password: 'right-secret' });
    }, 60_000);
    afterAll(() => secured?.stop());

    it('a wrong or missing password rejects BackendAuthError (ERR_BACKEND_AUTH) at once, never "unavailable"', async () => {
      const url = secured.url.replace('redis://', 'redis://:wrong-secret@');
      const started = Date.now();
      const opening = createDiscovery({ backend: redisBackend({ url }), ttl: TTL });
      await expect(opening).rejects.toBeInstanceOf(BackendAuthError);
      await expect(opening).rejects.toMatchObject({ code: 'ERR_BACKEND_AUTH' });
      await expect(opening).rejects.toThrow(/refused the credentials.*WRONGPASS/);
      const anonymous = createDiscovery({ backend: redisBackend({ url: secured.url }), ttl: TTL });
      await expect(anonymous).rejects.toBeInstanceOf(BackendAuthError);
      await expect(anonymous).rejects.toThrow(/refused the credentials.*NOAUTH/);
      // Refused, not unreachable: no waiting out a connect timeout.
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('the password passes through as an option too', async () => {
      const a = await open({ url: secured.url, password: 'right-secret', namespace: freshNamespace('pw') });
      await a.register({ id: 'pw-1' });
      expect(a.list()).toHaveLength(1);
    });

    it('an ACL user with only the documented permissions runs everything', async () => {
      const namespace = freshNamespace('acl');
      const admin = new Redis(secured.url, { password: 'right-secret' });
      onTestFinished(async () => {
        await admin.quit();
      });
      // Exactly the ACL the README documents.
      await admin.acl(
        'SETUSER',
        'roster-app',
        'reset',
        'on',
        '>app-secret',
        `~{roster:${namespace}}:*`,
        'resetchannels',
        '-@all',
        ...ACL_COMMANDS.split(' '),
      );
      await admin.acl('LOG', 'RESET');
      const url = secured.url.replace('redis://', 'redis://roster-app:app-secret@');
      const a = await open({ url, namespace });
      const b = await open({ url, namespace }, { autoHeartbeat: false, reregister: false });
      const watch = new Recorder(a);
      await a.register({ id: 'acl-1', load: 0 });
      await a.heartbeat('acl-1', 1);
      await b.register({ id: 'acl-2' });
      await waitFor('acl-2 expired at a', () =>
        watch.find((e) => e.type === 'left' && e.node.id === 'acl-2'),
      );
      expect((await a.history('acl-1')).map((n) => n.load)).toEqual([1, 0]);
      await a.unregister('acl-1');
      await waitFor('acl-1 left at a', () => a.list().length === 0);
      expect(watch.summary()).toEqual([
        'joined:acl-1',
        'updated:acl-1',
        'joined:acl-2',
        'left:acl-2:expired',
        'left:acl-1:unregistered',
      ]);
      // Only the optional extras were refused (client name, persistence report), nothing the backend needs.
      const denied = ((await admin.acl('LOG')) as unknown[][]).map((entry) =>
        String(entry[entry.indexOf('object') + 1]),
      );
      expect(
        denied.filter((command) => !['client|setname', 'client|setinfo', 'config|get'].includes(command)),
      ).toEqual([]);
      // Another namespace is out of this user's reach: a permission error, not an outage.
      const other = createDiscovery({ backend: redisBackend({ url, namespace: `${namespace}x` }), ttl: TTL });
      await expect(other).rejects.toBeInstanceOf(BackendAuthError);
      await expect(other).rejects.toThrow(/lacks a permission/);
      // A command the scripts need, taken away: the script's refusal is a permission error too.
      await admin.acl('SETUSER', 'roster-app', '-hset');
      await expect(a.register({ id: 'acl-3' })).rejects.toBeInstanceOf(BackendAuthError);
    });
  });

  it('a client passed in is used, never closed; the stream connection the backend made is', async () => {
    const namespace = freshNamespace('own');
    const client = new Redis(server.url);
    onTestFinished(() => client.disconnect());
    const discovery = await createDiscovery({ backend: redisBackend({ client, namespace }), ttl: TTL });
    await discovery.register({ id: 'mine-1' });
    const watchers = async () =>
      String(await client.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(`name=roster:${namespace}:watch`));
    await waitFor('the stream connection open', async () => (await watchers()).length === 1);
    await discovery.close();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
    await waitFor('the stream connection closed', async () => (await watchers()).length === 0);
    expect(await client.hlen(`{roster:${namespace}}:records`)).toBe(0);
  });

  it('a namespace that exists with another ttl rejects ConfigMismatchError naming both values', async () => {
    const namespace = freshNamespace('cfg');
    await open({ url: server.url, namespace });
    const other = createDiscovery({ backend: redisBackend({ url: server.url, namespace }), ttl: 2_500 });
    await expect(other).rejects.toBeInstanceOf(ConfigMismatchError);
    await expect(other).rejects.toThrow(/ttl 1000 ms.*2500 ms/);
  });

  it('bad options reject InvalidOptionsError', () => {
    expect(() => redisBackend({ namespace: 'bad ns' })).toThrow(InvalidOptionsError);
    expect(() => redisBackend({ url: 'http://localhost' })).toThrow(InvalidOptionsError);
    expect(() => redisBackend({ client: new Redis({ lazyConnect: true }), url: server.url })).toThrow(
      InvalidOptionsError,
    );
    expect(() => redisBackend({ url: server.url, streamMaxLength: 0 })).toThrow(InvalidOptionsError);
    expect(() => redisBackend({ url: server.url, requestTimeout: 10 })).toThrow(InvalidOptionsError);
    expect(() => redisBackend({ client: {} as Redis })).toThrow(/Redis or Cluster/);
  });
});
