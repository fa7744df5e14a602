// The NATS backend through stream-leader failovers on a 3-node cluster (issue 12): a list never
// returns less than the stream leader had acknowledged, and feeds re-list at a leader election.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery, type Logger, type NodeDiscovery, silentLogger } from '@roster/core';
import { Recorder, waitFor as until } from '@roster/core/conformance';
import {
  captureLogger,
  freshNamespace,
  type NatsClusterHandle,
  open as openForTest,
  startNatsCluster,
} from '@roster/test-services';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { natsBackend } from '../src/index.js';
import { quoted, readmePermissions } from './fixtures/readme-permissions.js';

/** The namespaces of the least-privilege users (the README's "Permissions", replicated buckets). */
const lpNamespace = freshNamespace('cl_lp_');
/** A user with the permissions the README listed before the leader-elected advisory. */
const oldNamespace = freshNamespace('cl_old_');
const readme = readmePermissions(lpNamespace);
const old = readmePermissions(oldNamespace);
const logDir = mkdtempSync(join(tmpdir(), 'roster-nats-cl-lp-'));
/** All three members log here: the test reads it for refused permissions. */
const logFile = join(logDir, 'nats.log');
const cluster: NatsClusterHandle = await startNatsCluster({
  size: 3,
  config: `log_file: ${JSON.stringify(logFile)}
authorization {
  users: [
    { user: admin, password: admin-secret },
    { user: roster-app, password: app-secret, permissions: {
        publish: { allow: [${quoted(readme.publish)}] },
        subscribe: { allow: [${quoted(readme.subscribe)}] } } }
    { user: roster-old, password: old-secret, permissions: {
        publish: { allow: [${quoted(old.publish)}] },
        subscribe: { allow: [${quoted(old.subscribe.slice(0, 1))}] } } }
  ]
}
`,
});
afterAll(async () => {
  await cluster.stop();
  rmSync(logDir, { recursive: true, force: true });
});
const admin = { user: 'admin', pass: 'admin-secret' };

/** The permissions the server refused `user` so far (its log has one line per refusal). */
function violations(user: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /Violation/.test(line) && line.includes(`"${user}"`));
}

const urlsOf = (members: number[]) => members.map((i) => cluster.urls[i] as string);

/** The member leading `stream`, once it has a leader. */
function streamLeader(stream: string): Promise<number> {
  return until('the stream to have a leader', () =>
    cluster.leader(stream).then((i) => (i === undefined ? false : i)),
  );
}

/** Registers `id` as soon as the cluster takes writes again (a new stream leader serves). */
function registerOnceServing(owner: NodeDiscovery, id: string): Promise<boolean> {
  return until(
    `${id} registered after the failover`,
    async () => {
      try {
        await owner.register({ id });
        return true;
      } catch {
        return false;
      }
    },
    20_000,
  );
}

/** The member that leads neither the stream nor the JetStream meta group (consumers are still created while it is frozen). */
async function follower(stream: string): Promise<number> {
  const leader = await streamLeader(stream);
  const meta = await until('the meta group to have a leader', () =>
    cluster.leader().then((i) => (i === undefined ? false : i)),
  );
  return [0, 1, 2].find((i) => i !== leader && i !== meta) as number;
}

/**
 * Until a new replicated bucket can be created: a case that froze or killed a member leaves the
 * cluster re-electing its JetStream meta leader (4.5-10 s on nats-server 2.9, every member
 * answering 503 to bucket creation meanwhile), and the next case's first `open()` of a new
 * namespace would rightly time out within its 5 s.
 */
async function untilBucketsCanBeCreated(): Promise<void> {
  await cluster.waitUntilHealthy();
  await until(
    'JetStream to create buckets again',
    async () => {
      const probe = natsBackend({
        ...admin,
        servers: [...cluster.urls],
        namespace: freshNamespace('cl_probe_'),
        replicas: 3,
      });
      try {
        await probe.open({ ttl: 60_000, logger: silentLogger });
        return true;
      } catch {
        return false;
      } finally {
        await probe.close();
      }
    },
    40_000,
  );
}

describe('nats backend: stream-leader failover on a 3-node cluster (replicas 3)', () => {
  beforeEach(untilBucketsCanBeCreated, 90_000);

  it('a list whose consumer lands on a member that lags the leader still returns every write the leader acknowledged before it', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('cl_lag_');
    const stream = `KV_roster_${ns}`;
    const ttl = 120_000;
    const setup = natsBackend({ ...admin, servers: [...cluster.urls], namespace: ns, replicas: 3 });
    await setup.open({ ttl, logger: silentLogger });
    await setup.close();
    const lagging = await follower(stream);
    const live = [0, 1, 2].filter((i) => i !== lagging);
    // Nobody talks to the lagging member itself: only the server places consumers on it.
    const open = async () => {
      const backend = natsBackend({
        ...admin,
        servers: urlsOf(live),
        namespace: ns,
        replicas: 3,
        requestTimeout: 20_000,
      });
      onTestFinished(() => backend.close());
      await backend.open({ ttl, logger: silentLogger });
      return backend;
    };
    const writer = await open();
    const listers = await Promise.all(Array.from({ length: 16 }, open));

    // Frozen, the member misses a few MB of writes; thawed, it gets the assignment of a
    // consumer (meta group) well before it has caught up with the stream.
    await cluster.member(lagging).suspend();
    onTestFinished(() => cluster.member(lagging).resume());
    const value = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(4_000) }));
    await Promise.all(
      Array.from({ length: 20 }, async (_, chain) => {
        for (let i = 0; i < 200; i++) await writer.put(`k${chain}-${i}`, value);
      }),
    );
    const last = await writer.put('last', new TextEncoder().encode('{}'));
    if (!last.ok) throw new Error('the last write was refused');

    // Each list's consumer is placed on a member drawn at random, the frozen one too: those
    // lists cannot finish before the thaw. 16 lists: all 16 on live members is a 0.15 % draw.
    let settled = 0;
    const lists = listers.map((lister) => lister.list().finally(() => void settled++));
    await until('the lists on live members to finish', () => settled === lists.length, 3_000).catch(() => {});
    const beforeThaw = settled;
    await cluster.member(lagging).resume();
    const snapshots = await Promise.all(lists);
    expect(beforeThaw, 'no list had its consumer on the frozen member: nothing was tested').toBeLessThan(
      lists.length,
    );
    for (const snapshot of snapshots) {
      expect(snapshot.entries.find((e) => e.key === 'last')?.revision).toBe(last.revision);
      expect(snapshot.entries).toHaveLength(4_001);
      expect(Number(snapshot.cursor)).toBeGreaterThanOrEqual(last.revision);
    }
  }, 120_000);

  it('a write while the stream has no leader fails within a quarter of the request timeout, not all of it', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('cl_nolead_');
    const stream = `KV_roster_${ns}`;
    const requestTimeout = 12_000;
    const setup = natsBackend({ ...admin, servers: [...cluster.urls], namespace: ns, replicas: 3 });
    await setup.open({ ttl: 60_000, logger: silentLogger });
    await setup.close();
    const leader = await streamLeader(stream);
    const survivors = [0, 1, 2].filter((i) => i !== leader);
    const backend = natsBackend({
      ...admin,
      servers: urlsOf(survivors),
      namespace: ns,
      replicas: 3,
      requestTimeout,
    });
    onTestFinished(() => backend.close());
    await backend.open({ ttl: 60_000, logger: silentLogger });
    expect((await backend.put('nl-1', new TextEncoder().encode('{}'))).ok).toBe(true);

    await cluster.member(leader).kill();
    onTestFinished(async () => {
      await cluster.member(leader).restart();
      await cluster.waitUntilHealthy();
    });
    // Only the stream leader listens on the stream's subjects: the write finds no responder at
    // once, and the check whether the stream was deleted asks a stream info nobody answers.
    const started = Date.now();
    const error = await backend.put('nl-1', new TextEncoder().encode('{"v":2}')).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - started;
    expect(error, 'the write succeeded although the stream had no leader').toBeInstanceOf(Error);
    expect((error as Error).name).toBe('BackendUnavailableError');
    expect(took).toBeLessThan(requestTimeout / 2);
  }, 60_000);

  it("a feed re-lists as soon as the stream elects a new leader, not after two stream checks (as the README's least-privilege user)", async ({
    onTestFinished,
  }) => {
    const ns = lpNamespace;
    const stream = `KV_roster_${ns}`;
    const ttl = 10_000;
    const reasons: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      info: (message: string) => void reasons.push(message),
    };
    // A stream check far beyond the test: only the leader-elected advisory can make the feed re-list.
    const open = (servers: string[], log: Logger = silentLogger): Promise<NodeDiscovery> =>
      openForTest(() =>
        createDiscovery({
          backend: natsBackend({
            servers,
            namespace: ns,
            replicas: 3,
            streamCheckInterval: 600_000,
            user: 'roster-app',
            pass: 'app-secret',
          }),
          ttl,
          logger: log,
        }),
      );
    const owner = await open([...cluster.urls]);
    const leader = await streamLeader(stream);
    const watcher = await open(urlsOf([(leader + 1) % 3]), logger);
    const watched = new Recorder(watcher);
    onTestFinished(async () => watched.stop());
    await owner.register({ id: 'el-1' });
    await watched.joined('el-1');

    const report = await cluster.failover({ stream });
    const elected = Date.now() - (report.recoveredAfterMs - report.electedAfterMs);
    const resynced = await until(
      'the watcher to re-list for the election',
      () => reasons.find((r) => /elected a new leader/.test(r)),
      10_000,
    );
    expect(resynced).toMatch(/resynchronising/);
    await registerOnceServing(owner, 'el-2');
    const joined = await watched.joined('el-2', 15_000);
    // The target of issue 12: within ttl + 2 s of the election (here far inside it).
    expect(joined.at - elected).toBeLessThanOrEqual(ttl + 2_000);
    expect(watched.of('el-1').filter((e) => e.type === 'left')).toEqual([]);
    const refused = violations('roster-app');
    expect(refused, 'the server refused a permission the README lists (or lacks)').toEqual([]);
  }, 90_000);

  it('a user without the advisory permission (the README before it): a warn, a refusal in the server log, and the stream check as the only recovery', async ({
    onTestFinished,
  }) => {
    const ns = oldNamespace;
    const stream = `KV_roster_${ns}`;
    const logger = captureLogger();
    const open = (servers: string[], log: Logger = silentLogger): Promise<NodeDiscovery> =>
      openForTest(() =>
        createDiscovery({
          backend: natsBackend({
            servers,
            namespace: ns,
            replicas: 3,
            streamCheckInterval: 1_000,
            user: 'roster-old',
            pass: 'old-secret',
          }),
          ttl: 10_000,
          logger: log,
        }),
      );
    const owner = await open([...cluster.urls]);
    const leader = await streamLeader(stream);
    const watcher = await open(urlsOf([(leader + 1) % 3]), logger);
    const watched = new Recorder(watcher);
    onTestFinished(async () => watched.stop());
    await until('the warning that the advisory is refused', () =>
      logger.warnings.find((w) => w.includes('cannot subscribe to $JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED')),
    );
    await until('the server to log the refusal', () => violations('roster-old').length > 0);
    await owner.register({ id: 'old-1' });
    await watched.joined('old-1');
    await cluster.failover({ stream });
    await registerOnceServing(owner, 'old-2');
    // A feed whose consumer died with the old leader: two stream checks of 1 s find it stalled.
    await watched.joined('old-2', 15_000);
    expect(watched.of('old-1').filter((e) => e.type === 'left')).toEqual([]);
  }, 90_000);
});
