import { type ServiceHandle, startNats, startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, RosterProcess, roster } from './helpers/roster-process.js';

// `roster migrate` end to end between two real backends: Redis → NATS.
describe('roster migrate (redis → nats)', () => {
  let redis: ServiceHandle;
  let nats: ServiceHandle;
  let counter = 0;
  const urls = () => {
    counter += 1;
    const namespace = `mig-${process.pid}-${Date.now().toString(36)}-${counter}`;
    return {
      from: `redis://${redis.url.replace(/^redis:\/\//, '')}?namespace=${namespace}`,
      to: `nats://${nats.url.replace(/^nats:\/\//, '')}?namespace=${namespace}`,
    };
  };
  const ttl = ['--ttl', '3000'];

  beforeAll(async () => {
    [redis, nats] = await Promise.all([startRedis(), startNats()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), nats?.stop()]);
  });

  it('copies every node with its instanceId, --verify passes, and a stale target fails verification', async () => {
    const { from, to } = urls();
    const owners = ['api-1', 'api-2'].map(
      (id) => new RosterProcess(['register', id, '--meta', 'role=api', '--json', '--url', from, ...ttl]),
    );
    try {
      for (const owner of owners) await owner.until((p) => p.json().length > 0, 'an owner to register');
      const before = await roster(['ls', '--json', '--url', from, ...ttl]);
      const source = lines(before.stdout).map((line) => JSON.parse(line));
      expect(source.map((n) => n.id)).toEqual(['api-1', 'api-2']);

      const copy = await roster(['migrate', '--from', from, '--to', to, '--verify', '--json', ...ttl]);
      expect(copy.code, copy.stderr).toBe(0);
      const events = lines(copy.stdout).map((line) => JSON.parse(line));
      expect(events[0]).toMatchObject({ event: 'copied', copied: 2, skipped: 0 });
      expect(events.at(-1)).toMatchObject({ event: 'verified', equal: true });

      const after = await roster(['ls', '--json', '--url', to, ...ttl]);
      const target = lines(after.stdout).map((line) => JSON.parse(line));
      expect(target.map((n) => [n.id, n.instanceId, n.registeredAt])).toEqual(
        source.map((n) => [n.id, n.instanceId, n.registeredAt]),
      );

      // api-2 leaves the old backend only: the views now differ.
      owners[1]!.kill('SIGINT');
      await owners[1]!.exited;
      const stale = await roster(['migrate', '--from', from, '--to', to, '--verify-only', ...ttl]);
      expect(stale.code).toBe(1);
      expect(stale.stdout).toContain('only in the target:    api-2');
    } finally {
      for (const owner of owners) owner.kill('SIGKILL');
    }
  });

  it('--follow keeps copying changes until Ctrl-C', async () => {
    const { from, to } = urls();
    const follow = new RosterProcess(['migrate', '--from', from, '--to', to, '--follow', '--json', ...ttl]);
    let owner: RosterProcess | undefined;
    try {
      await follow.until((p) => p.json().some((e) => e.event === 'copied'), 'the first copy');
      // Registered only after the copy: a node copied by it would reach the target without a `put`
      // in the feed (a silent heartbeat writes nothing there), and the follow would have nothing to show.
      owner = new RosterProcess(['register', 'late-1', '--json', '--url', from, ...ttl]);
      await owner.until((p) => p.json().length > 0, 'late-1 to register');
      await follow.until(
        (p) => p.json().some((e) => e.event === 'put' && e.id === 'late-1'),
        'late-1 followed',
      );
      const seen = await roster(['get', 'late-1', '--json', '--url', to, ...ttl]);
      expect(seen.code, seen.stderr).toBe(0);
      // Redis heartbeats are silent (nothing in the feed): the follow must keep the copy alive.
      // A stated period past ttl + max(1 s, ttl / 4) with the owner alive, then the copy is still there.
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      const later = await roster(['get', 'late-1', '--json', '--url', to, ...ttl]);
      expect(later.code, `the copy of a live node expired at the target: ${later.stderr}`).toBe(0);
      owner.kill('SIGINT');
      await owner.exited;
      await follow.until(
        (p) => p.json().some((e) => e.event === 'delete' && e.id === 'late-1'),
        'the leave followed',
      );
      follow.kill('SIGINT');
      const ended = await follow.exited;
      expect(ended.code, ended.stderr).toBe(0);
      expect(
        lines(ended.stdout)
          .map((line) => JSON.parse(line))
          .at(-1),
      ).toMatchObject({ event: 'followed' });
    } finally {
      owner?.kill('SIGKILL');
      follow.kill('SIGKILL');
    }
  });

  it('a missing --to is a usage error', async () => {
    const result = await roster(['migrate', '--from', 'memory:']);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toHaveLength(1);
  });
});
