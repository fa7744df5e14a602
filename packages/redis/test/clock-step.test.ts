import { rmSync } from 'node:fs';
import type { NodeDiscovery } from '@roster/core';
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { keyLayout, LIVENESS_GROUP } from '../src/key-layout.js';
import { defineRosterCommands } from '../src/lua-scripts.js';
import { canCompileWalljump, walljumpServerDir } from './fixtures/walljump.js';
import { captureLogger, freshNamespace, open, Recorder, waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's wall time in ms. */
async function serverNow(client: Redis): Promise<number> {
  const [seconds = 0, micros = 0] = (await client.time()).map(Number);
  return seconds * 1000 + Math.floor(micros / 1000);
}

/** The `left` events a recorder saw, short form. */
const leaves = (recorder: Recorder) => recorder.summary().filter((e) => e.startsWith('left:'));

/** When each watched node first left, and why, in ms since `from`. */
function leftAfter(
  recorder: Recorder,
  id: string,
  from: number,
): { reason: string; after: number } | undefined {
  const seen = recorder.find((e) => e.type === 'left' && e.node.id === id);
  if (seen?.event.type !== 'left') return undefined;
  return { reason: seen.event.reason, after: seen.at - from };
}

describe.skipIf(!canCompileWalljump)('redis: a step of the server wall clock (a C compiler steps it)', () => {
  const clock = canCompileWalljump ? walljumpServerDir() : undefined;
  const dir = clock?.dir ?? '';
  const started = startRedis({ searchPath: [dir] });
  afterAll(async () => {
    await (await started).stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('9 s forward: no live node expires; a crash right after still expires within ttl + max(1 s, ttl / 4) (rule 4)', async () => {
    const server = await started;
    const ttl = 2_000;
    const bound = ttl + 1_000;
    const namespace = freshNamespace('step');
    const log = captureLogger();
    const owners: NodeDiscovery[] = [];
    for (let o = 0; o < 3; o += 1) {
      const owner = await open({ url: server.url, namespace }, { ttl, logger: log });
      owners.push(owner);
      await owner.register({ id: `n${o}` });
    }
    const watcher = await open({ url: server.url, namespace }, { ttl });
    await waitFor('the watcher sees the 3 nodes', () => watcher.list().length === 3);
    const seen = new Recorder(watcher);
    await sleep(ttl);
    clock?.step(9_000);
    onTestFinished(() => clock?.step(0));
    // Before the fix every node left `expired` within a sweep (~300 ms) of the step.
    await sleep(2 * bound);
    expect(leaves(seen)).toEqual([]);
    expect(log.warnings.some((w) => /clock was set forward by about 9\d\d\d ms/.test(w))).toBe(true);
    // A crash after the step: its node expires by the ttl alone, not by the ttl plus the 9 s.
    const crashedAt = Date.now();
    await owners[0]?.close({ unregister: false });
    await waitFor('n0 expired', () => leftAfter(seen, 'n0', crashedAt), bound + 5_000);
    const left = leftAfter(seen, 'n0', crashedAt);
    expect(left?.reason).toBe('expired');
    expect(left?.after).toBeLessThanOrEqual(bound + 300);
    expect(leaves(seen)).toEqual(['left:n0:expired']);
  }, 30_000);
});

describe('redis: the allowance for a step of the server clock, on a real server', () => {
  const started = startRedis();
  afterAll(async () => (await started).stop());
  const ttl = 3_000;
  const slack = 1_000;

  /** Makes the liveness entry of `id` look `ms` older, as a forward step of the server clock does. */
  async function age(admin: Redis, namespace: string, ms: number): Promise<void> {
    const { live } = keyLayout(namespace);
    const now = await serverNow(admin);
    const pending = (await admin.xpending(live, LIVENESS_GROUP, '-', '+', 100)) as [string][];
    for (const [entry] of pending)
      await admin.xclaim(live, LIVENESS_GROUP, LIVENESS_GROUP, 0, entry, 'TIME', now - ms, 'JUSTID');
  }

  async function setUp(step: number | undefined) {
    const server = await started;
    const admin = defineRosterCommands(new Redis(server.url));
    onTestFinished(() => admin.disconnect());
    const namespace = freshNamespace('allow');
    const owner = await open(
      { url: server.url, namespace },
      { ttl, autoHeartbeat: false, reregister: false },
    );
    const watcher = await open({ url: server.url, namespace }, { ttl });
    const seen = new Recorder(watcher);
    if (step !== undefined) {
      // What the sweeper records when it sees a step (server-clock.ts): step, server time before and after.
      const at = await serverNow(admin);
      await admin.rosterNoteStepV2(keyLayout(namespace).clock, step, at - step, at, ttl, slack);
    }
    await owner.register({ id: 'before' });
    await age(admin, namespace, 5_000);
    const agedAt = Date.now();
    await owner.register({ id: 'since' });
    return { seen, agedAt, watcher };
  }

  it('without a recorded step, a record 5 s older than it is expires at the next sweep (the control)', async () => {
    const { seen, agedAt } = await setUp(undefined);
    await waitFor('before expired', () => leftAfter(seen, 'before', agedAt), ttl + 5_000);
    await waitFor('since expired', () => leftAfter(seen, 'since', agedAt), ttl + 5_000);
    const before = leftAfter(seen, 'before', agedAt)?.after ?? 0;
    const since = leftAfter(seen, 'since', agedAt)?.after ?? 0;
    expect(since - before).toBeGreaterThan(ttl / 2);
  }, 20_000);

  it('with a recorded 5 s step, the record heartbeated before it keeps its ttl, and one written since expires after the ttl alone', async () => {
    const { seen, agedAt, watcher } = await setUp(5_000);
    await sleep(ttl / 2);
    // get/list/put meet it too: still there for everyone.
    expect(watcher.get('before')).toBeDefined();
    await waitFor('before expired', () => leftAfter(seen, 'before', agedAt), ttl + 5_000);
    await waitFor('since expired', () => leftAfter(seen, 'since', agedAt), ttl + 5_000);
    const before = leftAfter(seen, 'before', agedAt);
    const since = leftAfter(seen, 'since', agedAt);
    expect(before?.reason).toBe('expired');
    expect(before?.after).toBeGreaterThanOrEqual(ttl - 100);
    expect(before?.after).toBeLessThanOrEqual(ttl + slack + 300);
    // Not ttl + the 5 s allowance: it was written after the step was recorded.
    expect(since?.reason).toBe('expired');
    expect(since?.after).toBeLessThanOrEqual(ttl + slack + 300);
  }, 20_000);

  it('the same step seen by two instances is recorded once, as of the earlier sighting; a later step adds up', async () => {
    const server = await started;
    const admin = defineRosterCommands(new Redis(server.url));
    onTestFinished(() => admin.disconnect());
    const { clock } = keyLayout(freshNamespace('twice'));
    // Both read the clock before the step (at 1 000 and 1 200), then after it (at 10 300 and 10 500).
    expect(await admin.rosterNoteStepV2(clock, 9_000, 1_000, 10_300, ttl, slack)).toBe(9_000);
    expect(await admin.rosterNoteStepV2(clock, 9_100, 1_200, 10_500, ttl, slack)).toBe(9_100);
    expect(await admin.hgetall(clock)).toEqual({ step: '9100', at: '10300' });
    // A second step, seen by the instance whose reading recorded the first: both allowances hold.
    expect(await admin.rosterNoteStepV2(clock, 2_000, 10_300, 12_600, ttl, slack)).toBe(11_100);
    expect(await admin.hgetall(clock)).toEqual({ step: '11100', at: '12600' });
    expect(await admin.pttl(clock)).toBeGreaterThan(ttl + 11_100);
  });

  it('a user who may not run TIME: one warning naming +time, and records still expire', async () => {
    const server = await started;
    const admin = new Redis(server.url);
    onTestFinished(() => admin.disconnect());
    const namespace = freshNamespace('notime');
    await admin.acl(
      'SETUSER',
      'no-time',
      'on',
      '>pw',
      `~{roster:${namespace}}:*`,
      'resetchannels',
      '+@all',
      '-time',
    );
    const url = server.url.replace('redis://', 'redis://no-time:pw@');
    const log = captureLogger();
    const owner = await open(
      { url, namespace },
      { ttl, autoHeartbeat: false, reregister: false, logger: log },
    );
    const seen = new Recorder(owner);
    await owner.register({ id: 'gone' });
    const from = Date.now();
    await waitFor('gone expired', () => leftAfter(seen, 'gone', from), ttl + 5_000);
    expect(leftAfter(seen, 'gone', from)?.reason).toBe('expired');
    expect(log.warnings.filter((w) => w.includes('+time'))).toHaveLength(1);
    // A step another instance recorded: this user's scripts cannot tell old records from new
    // ones (no TIME), so every record gets the step, and nothing fails.
    const withTime = defineRosterCommands(admin);
    const at = await serverNow(admin);
    await withTime.rosterNoteStepV2(keyLayout(namespace).clock, 1_000, at - 1_000, at, ttl, slack);
    await owner.register({ id: 'later' });
    const registered = Date.now();
    await waitFor('later expired', () => leftAfter(seen, 'later', registered), ttl + 5_000);
    const later = leftAfter(seen, 'later', registered);
    expect(later?.reason).toBe('expired');
    expect(later?.after).toBeGreaterThanOrEqual(ttl + 1_000 - 100);
    expect(later?.after).toBeLessThanOrEqual(ttl + 1_000 + slack + 300);
    // Swept by the store (not only dropped from the view), and no script failed on the way.
    expect(await admin.hexists(keyLayout(namespace).records, 'later')).toBe(0);
    expect(log.warnings.filter((w) => w.includes('failed'))).toEqual([]);
  }, 30_000);
});
