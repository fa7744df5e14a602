import { describe, expect, it } from 'vitest';
import { lines, roster } from './helpers/roster-process.js';

const COMMANDS = [
  'ls',
  'watch',
  'get',
  'history',
  'register',
  'unregister',
  'migrate',
  'bench',
  'demo',
  'ui',
];

describe('roster --help', () => {
  it('lists every command, the backends and the exit codes', async () => {
    const result = await roster(['--help']);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s{2,}\\S`, 'm'));
    expect(result.stdout).toContain('nats://host:4222?namespace=x');
    expect(result.stdout).toContain('Exit codes');
    expect(result.stderr).toBe('');
  });

  it.each(COMMANDS)('%s --help shows usage, options and examples', async (command) => {
    const result = await roster([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`roster ${command}`);
    expect(result.stdout).toMatch(/^Usage\n {2}roster /m);
    expect(result.stdout).toContain('Global options');
    expect(result.stdout).toMatch(/^Examples\n {2}\$ roster /m);
    expect(result.stdout).not.toContain('\u001b['); // no colour in a pipe
  });

  it('`roster help <command>` is the same as `<command> --help`', async () => {
    const [a, b] = await Promise.all([roster(['help', 'watch']), roster(['watch', '--help'])]);
    expect(a.stdout).toBe(b.stdout);
  });

  it('no command prints help to stderr and exits 2', async () => {
    const result = await roster([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Commands');
  });

  it('--version prints the version', async () => {
    const result = await roster(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('errors are one line with a hint, and a non-zero exit code', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['unknown command', ['lss'], 2, /^roster: unknown command "lss" \(hint: did you mean `roster ls`\?/],
    [
      'unknown option',
      ['ls', '--colour'],
      2,
      /^roster: unknown option --colour \(hint: run `roster ls --help`\)$/,
    ],
    [
      'unknown scheme',
      ['ls', '--url', 'mongodb://db:27017'],
      2,
      /^roster: unknown backend scheme "mongodb:".*\(hint: use one of memory:/,
    ],
    ['not a URL', ['ls', '--url', 'localhost'], 2, /^roster: not a backend URL: "localhost"/],
    ['bad port', ['ls', '--url', 'redis://127.0.0.1:99999'], 2, /^roster: bad host "127.0.0.1:99999"/],
    [
      'unknown URL parameter',
      ['ls', '--url', 'etcd://h:2379?ns=x'],
      2,
      /^roster: unknown URL parameter "ns"/,
    ],
    ['missing argument', ['get'], 2, /^roster: missing the node id: roster get <id>/],
    ['extra argument', ['ls', 'api-1'], 2, /^roster: unexpected argument "api-1": roster ls /],
    [
      'bad number',
      ['history', 'a', '--limit', 'lots'],
      2,
      /^roster: --limit must be an integer from 1 to 1000, got "lots"/,
    ],
    ['bad pair', ['ls', '--filter', 'role'], 2, /^roster: --filter takes key=value, got "role"/],
    ['bad ttl', ['ls', '--ttl', '10'], 2, /^roster: --ttl must be an integer from 1000/],
    [
      'bad node id',
      ['register', 'bad id!'],
      2,
      /^roster: id "bad id!" has a character outside .* \(hint: ids are 1-128/,
    ],
    [
      'node not found',
      ['get', 'nobody'],
      1,
      /^roster: no node "nobody" in namespace default \(hint: `roster ls` lists/,
    ],
    ['unregister unknown', ['unregister', 'nobody'], 1, /^roster: no node "nobody" .*--force/],
  ];
  it.each(cases)('%s', async (_name, args, code, pattern) => {
    const result = await roster(args);
    expect(result.code).toBe(code);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(pattern);
    expect(result.stdout).toBe('');
  });

  it('ROSTER_URL is used when --url is absent', async () => {
    const result = await roster(['ls'], { ROSTER_URL: 'bogus://x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown backend scheme "bogus:"/);
  });

  it('an unreachable server is a runtime error (exit 1) within the connect timeout', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused or never completes.
    const result = await roster(['ls', '--url', 'redis://127.0.0.1:1', '--connect-timeout', '1500']);
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^roster: .*(cannot reach redis at 127\.0\.0\.1:1|ECONNREFUSED|unavailable)/i,
    );
    expect(result.stderr).toMatch(/\(hint: .+\)/);
  });
});

describe('memory', () => {
  it('ls on an empty namespace says so on stderr and prints nothing on stdout', async () => {
    const human = await roster(['ls', '--url', 'memory:']);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/no nodes in namespace default/);
    const json = await roster(['ls', '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe('');
  });

  it('roster demo exits 0 and shows a node join, one expire and one unregister, then the membership', async () => {
    const started = Date.now();
    const result = await roster(['demo', '--url', 'memory:', '--duration', '1']);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^\+\s*[\d.]+s {2}joined {3}api-1 +10\.0\.0\.11:8080 {2}load [\d.]+ {2}role=api/m);
    expect(out).toMatch(/^\+\s*[\d.]+s {2}left {5}worker-1 {2}expired \(no heartbeat for [\d.]+s\)$/m);
    expect(out).toMatch(/^\+\s*[\d.]+s {2}left {5}cache-1 {3}unregistered$/m);
    expect(out).toMatch(/^\+\s*[\d.]+s {2}updated {2}\S+ +load [\d.]+ → [\d.]+$/m);
    expect(out).toMatch(
      /Membership at the end \(2 nodes\):\n {2}ID +ADDRESS +LOAD +AGE +LAST SEEN +METADATA\n {2}api-1 .*\n {2}api-2 /,
    );
    expect(out).toMatch(/Events seen: 4 joined, \d+ updated, 2 left \(1 expired, 1 unregistered\)/);
    // The expiry comes after the crash, no sooner than the TTL (2 s) after the last heartbeat.
    const crash = Number(/^\+\s*([\d.]+)s {2}▸ worker-1 crashes/m.exec(out)?.[1]);
    const expired = Number(/^\+\s*([\d.]+)s {2}left {5}worker-1/m.exec(out)?.[1]);
    expect(expired).toBeGreaterThan(crash);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('roster demo --json writes only events on stdout', async () => {
    const result = await roster(['demo', '--nodes', '3', '--duration', '0', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const events = lines(result.stdout).map((line) => JSON.parse(line) as { type: string; reason?: string });
    expect(events.filter((e) => e.type === 'joined')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'left').map((e) => e.reason)).toEqual(['expired', 'unregistered']);
    expect(result.stderr).toContain('Membership at the end (1 nodes)');
  });
});

describe('roster bench', () => {
  it('measures propagation and heartbeats on memory and cleans up after itself', async () => {
    const result = await roster([
      'bench',
      '--url',
      'memory:',
      '--nodes',
      '20',
      '--duration',
      '0.5',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const measured = JSON.parse(result.stdout);
    expect(measured).toMatchObject({ backend: 'memory', nodes: 20 });
    expect(measured.registerToJoinedP50Ms).toBeGreaterThan(0);
    expect(measured.registerToJoinedP99Ms).toBeGreaterThanOrEqual(measured.registerToJoinedP50Ms);
    expect(measured.heartbeatsPerSecond).toBeGreaterThan(0);
  });
});
