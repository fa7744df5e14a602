import {
  freePort,
  freshNamespace,
  type ServiceHandle,
  startEtcd,
  startNats,
  startRedis,
} from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, RosterProcess, roster } from './helpers/roster-process.js';

// The CLI end to end against real servers, as a user would run it: separate processes of the
// built binary, talking only through the server.

type Kind = 'nats' | 'redis' | 'etcd';
const START: Record<Kind, () => Promise<ServiceHandle>> = {
  nats: () => startNats(),
  redis: () => startRedis(),
  etcd: () => startEtcd(),
};

interface Event {
  type: string;
  reason?: string;
  node: { id: string; instanceId: string };
}

describe.each<Kind>(['nats', 'redis', 'etcd'])('%s', (kind) => {
  let server: ServiceHandle;
  let base: string;

  beforeAll(async () => {
    server = await START[kind]();
    base = `${kind}://${server.url.replace(/^[a-z]+:\/\//, '')}`;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('register in one process is seen by ls --json and watch --json in others; Ctrl-C unregisters', async () => {
    const url = `${base}?namespace=${freshNamespace('cli')}`;
    const watch = new RosterProcess(['watch', '--json', '--url', url]);
    const register = new RosterProcess([
      'register',
      'api-1',
      '--address',
      '127.0.0.1:8080',
      '--meta',
      'role=api',
      '--load',
      '0.5',
      '--json',
      '--url',
      url,
    ]);
    try {
      await register.until(
        (p) => p.json().some((line) => line.event === 'registered'),
        'register to register',
      );

      const ls = await roster(['ls', '--json', '--url', url]);
      expect(ls.code, ls.stderr).toBe(0);
      const listed = lines(ls.stdout).map((line) => JSON.parse(line));
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        id: 'api-1',
        address: '127.0.0.1:8080',
        metadata: { role: 'api' },
        load: 0.5,
      });

      const filtered = await roster(['ls', '--json', '--filter', 'role=db', '--url', url]);
      expect(filtered.code).toBe(0);
      expect(filtered.stdout).toBe('');

      const human = await roster(['ls', '--url', url]);
      expect(human.stdout).toMatch(
        /^ID +ADDRESS +LOAD +AGE +LAST SEEN +METADATA\napi-1 +127\.0\.0\.1:8080 +0\.5 +\S+ +(just now|\S+ ago) +role=api\n$/,
      );

      const get = await roster(['get', 'api-1', '--json', '--url', url]);
      expect(JSON.parse(get.stdout)).toMatchObject({ id: 'api-1', load: 0.5 });

      await watch.until(
        (p) => p.json().some((e) => e.type === 'joined' && (e as unknown as Event).node.id === 'api-1'),
        'watch to print joined',
      );

      register.kill('SIGINT');
      const ended = await register.exited;
      expect(ended.code, ended.stderr).toBe(0);
      expect(lines(ended.stdout).map((line) => JSON.parse(line).event)).toEqual([
        'registered',
        'unregistered',
      ]);

      await watch.until(
        (p) => p.json().some((e) => e.type === 'left' && e.reason === 'unregistered'),
        'watch to print left',
      );
      const events = watch.json() as unknown as Event[];
      expect(events.map((e) => `${e.type}:${e.node.id}${e.reason ? `:${e.reason}` : ''}`)).toEqual([
        'joined:api-1',
        'left:api-1:unregistered',
      ]);

      const after = await roster(['ls', '--json', '--url', url]);
      expect(after.stdout).toBe('');

      watch.kill('SIGINT');
      const watchEnded = await watch.exited;
      expect(watchEnded.code, watchEnded.stderr).toBe(0);
    } finally {
      register.kill('SIGKILL');
      watch.kill('SIGKILL');
    }
  });

  it('a register killed without cleanup expires at every watcher; history and unregister work', async () => {
    const url = `${base}?namespace=${freshNamespace('cli')}`;
    const ttl = ['--ttl', '1000'];
    const watch = new RosterProcess(['watch', '--json', '--url', url, ...ttl]);
    const crashing = new RosterProcess([
      'register',
      'worker-1',
      '--load',
      '0.1',
      '--json',
      '--url',
      url,
      ...ttl,
    ]);
    const other = new RosterProcess(['register', 'worker-2', '--json', '--url', url, ...ttl]);
    try {
      await crashing.until((p) => p.json().length > 0, 'worker-1 to register');
      await other.until((p) => p.json().length > 0, 'worker-2 to register');
      await watch.until((p) => p.json().filter((e) => e.type === 'joined').length === 2, 'both joined');

      const history = await roster(['history', 'worker-1', '--json', '--url', url, ...ttl]);
      expect(history.code, history.stderr).toBe(0);
      expect(JSON.parse(lines(history.stdout)[0]!)).toMatchObject({ id: 'worker-1', load: 0.1 });

      crashing.kill('SIGKILL');
      await watch.until(
        (p) => p.json().some((e) => e.type === 'left' && e.reason === 'expired'),
        'worker-1 to expire',
        10_000,
      );
      expect(
        (watch.json() as unknown as Event[]).filter((e) => e.type === 'left').map((e) => e.node.id),
      ).toEqual(['worker-1']);

      // An operator's force-leave of a node another process owns.
      const removed = await roster(['unregister', 'worker-2', '--url', url, ...ttl]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toMatch(/^unregistered worker-2/);
      await watch.until(
        (p) => p.json().some((e) => e.type === 'left' && e.reason === 'unregistered'),
        'worker-2 to leave',
      );
    } finally {
      for (const child of [watch, crashing, other]) child.kill('SIGKILL');
    }
  });

  it('roster demo runs the whole story and exits 0', async () => {
    const result = await roster(['demo', '--url', base, '--nodes', '3', '--duration', '1'], {}, 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`Roster demo: 3 nodes on ${kind} at `));
    expect(result.stdout).toMatch(/joined +api-1/);
    expect(result.stdout).toMatch(/left +worker-1 +expired/);
    expect(result.stdout).toMatch(/left +cache-1 +unregistered/);
    expect(result.stdout).toMatch(/Events seen: 3 joined, \d+ updated, 2 left \(1 expired, 1 unregistered\)/);
  });

  it('a server that does not answer is one line and exit 1', async () => {
    const port = await freePort();
    const result = await roster(['ls', '--url', `${kind}://127.0.0.1:${port}`, '--connect-timeout', '2000']);
    expect(result.code).toBe(1);
    expect(lines(result.stderr), result.stderr).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(/^roster: .+ \(hint: .+\)$/);
  });
});
