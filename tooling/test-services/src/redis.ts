import { startBinaryService } from './binary-service.js';
import { startContainerService } from './container-service.js';
import { envServiceHandle } from './env-service.js';
import { respCommand } from './resp.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';
import { chooseSource, type SourceChoice } from './service-source.js';
import { tcpExchange } from './tcp-exchange.js';
import { probeTlsOptions, type ServerTlsOptions } from './tls-certificates.js';

/** Options for {@link startRedis}. */
export interface RedisStartOptions extends CommonStartOptions {
  /**
   * `true`: `--appendonly yes --appendfsync always`, so every acknowledged write survives kill()
   * and restart(). `false` (default): no AOF and no RDB snapshots (`--save ""`), so a restart
   * comes back empty.
   */
  appendonly?: boolean;
  /** `--requirepass`. The handle's URL carries no credentials. */
  password?: string;
  /** Extra `redis-server` arguments, appended last so they win, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /**
   * ACL users besides `default`, created at start (`--user <name> on ><password> <rules…>`, the
   * `user` directive of redis.conf), e.g. a least-privilege user
   * `{ name: 'roster-app', password: 's', rules: ['~{roster:prod}:*', 'resetchannels', '-@all', '+get'] }`.
   * They survive restart(). `default` keeps `password` (or none) and every permission.
   */
  users?: readonly RedisAclUser[];
  /**
   * Serve TLS only (`--port 0 --tls-port P`, URL `rediss://`), e.g. with `makeTlsCertificates()`.
   * Always from the binary: the environment and container paths are skipped.
   */
  tls?: ServerTlsOptions;
}

/** One ACL user of {@link RedisStartOptions.users}. */
export interface RedisAclUser {
  name: string;
  password: string;
  /** ACL rules after `on >password`, in order: key patterns (`~…`), `resetchannels`, `-@all`, `+cmd` … */
  rules: readonly string[];
}

export const REDIS_ENV_VAR = 'ROSTER_REDIS_URL';
const REDIS_IMAGE = 'redis:7.2-alpine';
const PROBE_TIMEOUT_MS = 1_000;

function redisArgs(host: string, port: number, dir: string, options: RedisStartOptions): string[] {
  const tls = options.tls;
  return [
    ...(tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.certFile,
          '--tls-key-file',
          tls.keyFile,
          '--tls-ca-cert-file',
          tls.caFile,
          '--tls-auth-clients',
          tls.requireClientCert === false ? 'no' : 'yes',
        ]
      : ['--port', String(port)]),
    '--bind',
    host,
    '--dir',
    dir,
    '--save',
    '',
    ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--protected-mode',
    'no',
    ...(options.password !== undefined ? ['--requirepass', options.password] : []),
    // One argument per word: redis-server joins them into the directive `user <name> on >pw …`.
    ...(options.users ?? []).flatMap((user) => [
      '--user',
      user.name,
      'on',
      `>${user.password}`,
      ...user.rules,
    ]),
    ...(options.args ?? []),
  ];
}

/** Ready means PING answers +PONG (a server still loading its AOF answers -LOADING). */
export async function redisIsReady(
  host: string,
  port: number,
  password: string | undefined,
  tls?: ServerTlsOptions,
): Promise<boolean> {
  const auth = password !== undefined ? respCommand('AUTH', password) : '';
  const expectedLines = password !== undefined ? 2 : 1;
  const reply = await tcpExchange({
    host,
    port,
    send: auth + respCommand('PING'),
    until: (received) => received.split('\r\n').length > expectedLines,
    timeoutMs: PROBE_TIMEOUT_MS,
    ...(tls ? { tls: probeTlsOptions(tls) } : {}),
  });
  return reply.split('\r\n')[expectedLines - 1] === '+PONG';
}

/**
 * A Redis server for one test run: `ROSTER_REDIS_URL` if set, else a container when Docker
 * answers, else `redis-server` on a free loopback port.
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendonly: true });
 * const client = new Redis(redis.url);
 * ```
 */
export async function startRedis(options: RedisStartOptions = {}): Promise<ServiceHandle> {
  // TLS needs the certificates of this run: only a server we start from the binary has them.
  const choice: SourceChoice = options.tls ? { source: 'binary' } : await chooseSource(REDIS_ENV_VAR);
  if (choice.source === 'env') return envServiceHandle('redis', choice.url, REDIS_ENV_VAR);
  if (choice.source === 'container') {
    const { RedisContainer } = await import('@testcontainers/redis');
    return startContainerService(
      {
        kind: 'redis',
        containerPorts: [6379],
        ports: ([port]) => port as number,
        // Our own command line (RedisContainer keeps a given Cmd), so both paths run the same flags.
        build: (_host, _port, bindings) =>
          new RedisContainer(REDIS_IMAGE)
            .withExposedPorts(...bindings)
            .withCommand(['redis-server', ...redisArgs('0.0.0.0', 6379, '/data', options)]),
        url: (host, port) => `redis://${host}:${port}`,
        isReady: (host, port) => redisIsReady(host, port, options.password),
      },
      choice.runtime,
      options.startupTimeoutMs ?? 60_000,
    );
  }
  return startBinaryService(
    {
      kind: 'redis',
      binary: { name: 'redis-server', debianPackage: 'redis-server', envVar: REDIS_ENV_VAR },
      portCount: 1,
      ports: ([port]) => port as number,
      args: (port, dataDir) => redisArgs('127.0.0.1', port, dataDir, options),
      url: (port) => `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
      isReady: (port) => redisIsReady('127.0.0.1', port, options.password, options.tls),
    },
    options,
  );
}
