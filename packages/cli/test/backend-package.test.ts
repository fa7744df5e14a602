import { describe, expect, it } from 'vitest';
import { type ModuleLoader, runCli } from '../src/index.js';

function capture() {
  let text = '';
  return {
    stream: {
      write: (chunk: string) => {
        text += chunk;
        return true;
      },
    },
    text: () => text,
  };
}

/** A loader as in a project that installed @roster/cli and nothing else. */
const nothingInstalled: ModuleLoader = async (specifier) => {
  const error = new Error(
    `Cannot find package '${specifier}' imported from /app/node_modules/@roster/cli/dist/chunk.js`,
  );
  Object.assign(error, { code: 'ERR_MODULE_NOT_FOUND' });
  throw error;
};

async function run(argv: string[], loadModule: ModuleLoader) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: {},
    loadModule,
    interrupt: new AbortController().signal,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('a backend package that is not installed', () => {
  it.each([
    ['nats://127.0.0.1:4222', '@roster/nats', 'nats'],
    ['redis://127.0.0.1:6379', '@roster/redis', 'redis'],
    ['etcd://127.0.0.1:2379', '@roster/etcd', 'etcd'],
    ['memory:', '@roster/memory', 'memory'],
  ])('%s → one line naming %s, exit 1', async (url, packageName, scheme) => {
    const result = await run(['ls', '--url', url], nothingInstalled);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(
      `the ${scheme}: backend needs the package ${packageName}, which is not installed`,
    );
    expect(result.stderr).toContain(`npm install ${packageName}`);
  });

  it('a missing dependency *inside* an installed package is reported as a load failure, not as "not installed"', async () => {
    const brokenInside: ModuleLoader = async () => {
      const error = new Error(
        "Cannot find package 'ioredis' imported from /app/node_modules/@roster/redis/dist/index.js",
      );
      Object.assign(error, { code: 'ERR_MODULE_NOT_FOUND' });
      throw error;
    };
    const result = await run(['ls', '--url', 'redis://127.0.0.1:6379'], brokenInside);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^roster: could not load @roster\/redis: Cannot find package 'ioredis'/);
  });

  it('a package without the expected factory says which export is missing', async () => {
    const result = await run(['ls', '--url', 'etcd://127.0.0.1:2379'], async () => ({ somethingElse: 1 }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^roster: @roster\/etcd has no etcdBackend\(\) export/);
  });

  it('the factory gets the connection settings of the URL and the flags', async () => {
    const seen: Record<string, unknown>[] = [];
    const fake: ModuleLoader = async () => ({
      natsBackend: (options: Record<string, unknown>) => {
        seen.push(options);
        throw new Error('stop here');
      },
    });
    await run(
      [
        'ls',
        '--url',
        'nats://a:4222,b?namespace=prod',
        '--user',
        'ops',
        '--password',
        's3cret',
        '--tls-ca',
        '/dev/null',
      ],
      fake,
    );
    expect(seen[0]).toMatchObject({
      namespace: 'prod',
      servers: ['tls://a:4222', 'tls://b:4222'],
      user: 'ops',
      pass: 's3cret',
      tls: { caFile: '/dev/null' },
    });
  });
});
