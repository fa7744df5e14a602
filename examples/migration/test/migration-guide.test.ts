import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ServiceHandle, startEtcd, startNats, startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// docs/migration.md, run: each code block is a file of steps/, each `roster` command is run
// against real servers. No snippet in the guide that does not run.
const root = fileURLToPath(new URL('..', import.meta.url));
const guide = readFileSync(new URL('../../../docs/migration.md', import.meta.url), 'utf8');
const cli = fileURLToPath(new URL('../node_modules/@roster/cli/dist/bin.js', import.meta.url));
const steps = readdirSync(new URL('../steps', import.meta.url)).sort();

let nats: ServiceHandle;
let natsAuth: ServiceHandle;
let redis: ServiceHandle;
let etcd: ServiceHandle;
let env: Record<string, string>;

beforeAll(async () => {
  [nats, natsAuth, redis, etcd] = await Promise.all([
    startNats(),
    startNats({ user: 'shop-app', password: 's3cret' }),
    startRedis(),
    startEtcd(),
  ]);
  env = {
    NATS_URL: nats.url,
    NATS_AUTH_URL: natsAuth.url,
    NATS_USER: 'shop-app',
    NATS_PASSWORD: 's3cret',
    REDIS_URL: redis.url,
    ETCD_URL: etcd.url,
  };
}, 60_000);
afterAll(async () => {
  await Promise.all([nats?.stop(), natsAuth?.stop(), redis?.stop(), etcd?.stop()]);
});

function runStep(file: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', `steps/${file}`], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** The guide's commands point at the default ports; the test servers run elsewhere. */
function localise(command: string): string[] {
  const hostOf = (url: string) => url.replace(/^[a-z]+:\/\//, '');
  return command
    .replace(/^roster /, '')
    .replace(/\s+#.*$/, '')
    .replaceAll('127.0.0.1:4222', hostOf(nats.url))
    .replaceAll('127.0.0.1:6379', hostOf(redis.url))
    .replaceAll('127.0.0.1:2379', hostOf(etcd.url))
    .replaceAll("'", '') // the guide quotes URLs (a `?` is a glob in zsh); the shell would drop the quotes
    .split(/\s+/);
}

describe('docs/migration.md', () => {
  it('shows every step file verbatim', () => {
    expect(steps).toHaveLength(8);
    for (const file of steps) {
      const source = readFileSync(new URL(`../steps/${file}`, import.meta.url), 'utf8').trim();
      expect(guide, `steps/${file} in the guide`).toContain(source);
    }
  });

  it.each([
    ['1-memory.ts', 'members: api-1'],
    ['2-nats.ts', 'members: api-1'],
    ['3-redis.ts', 'members: api-1'],
    ['4-etcd.ts', 'members: api-1'],
    ['5-credentials.ts', 'members: api-1'],
  ])('%s runs', (file, output) => {
    const run = runStep(file);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(output);
  });

  it('the credentials step fails clearly with a wrong password', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'steps/5-credentials.ts'], {
      cwd: root,
      env: { ...process.env, ...env, NATS_PASSWORD: 'wrong' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/rejected the credentials/);
  });

  it('the live move runs: dual-write, verify, switch reads, retire', () => {
    const dual = runStep('6-dual-write.ts');
    expect(dual.status, dual.stderr).toBe(0);
    expect(dual.stdout.trim()).toBe('in sync: true secondary failures: 0');

    const verify = guide.match(/^roster migrate .*--verify-only$/m)?.[0];
    expect(verify).toBeDefined();
    const checked = spawnSync(process.execPath, [cli, ...localise(verify!)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(checked.status, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('both backends hold the same nodes');

    const switched = runStep('7-switch-reads.ts');
    expect(switched.status, switched.stderr).toBe(0);
    expect(switched.stdout.trim()).toBe('members read from NATS: orders-1,orders-2\nin sync: true');

    const retired = runStep('8-retire.ts');
    expect(retired.status, retired.stderr).toBe(0);
    expect(retired.stdout.trim()).toBe('members: orders-1,orders-2');
  });

  it("the guide's roster ls runs against the new store", () => {
    const ls = guide.match(/^roster ls .*$/m)?.[0];
    expect(ls).toBeDefined();
    const listed = spawnSync(process.execPath, [cli, ...localise(ls!)], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(listed.status, listed.stderr).toBe(0);
  });
});
