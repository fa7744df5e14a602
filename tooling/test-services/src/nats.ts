import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBinaryService } from './binary-service.js';
import { startContainerService } from './container-service.js';
import { envServiceHandle } from './env-service.js';
import type { CommonStartOptions, NatsServiceHandle } from './service-handle.js';
import { chooseSource, type SourceChoice } from './service-source.js';
import { httpGet, tcpExchange } from './tcp-exchange.js';
import type { ServerTlsOptions } from './tls-certificates.js';

/** Options for {@link startNats}. */
export interface NatsStartOptions extends CommonStartOptions {
  /** Require this user (`--user`). */
  user?: string;
  /** Require this password (`--pass`). */
  password?: string;
  /**
   * JetStream store dir (`--store_dir`). Default: `data/` in the handle's temp dir, removed on
   * stop(). A dir given here is never removed. (Containers bind-mount it.)
   */
  storeDir?: string;
  /**
   * Serve TLS (`--tls --tlscert --tlskey`, plus `--tlscacert --tlsverify` unless
   * `requireClientCert: false`); the URL becomes `tls://…`. Always from the binary.
   */
  tls?: ServerTlsOptions;
  /**
   * nats-server configuration text, e.g. `authorization { users: [...] }` with permissions for a
   * least-privilege test. Written to `nats.conf` in the temp dir and passed with `-c`; the
   * command-line flags above win over it. Always from the binary.
   */
  config?: string;
}

export const NATS_ENV_VAR = 'ROSTER_NATS_URL';
const NATS_IMAGE = 'nats:2.10';
const PROBE_TIMEOUT_MS = 1_000;

export interface NatsPorts {
  client: number;
  monitor: number;
}

export function natsArgs(
  host: string,
  ports: NatsPorts,
  storeDir: string,
  options: NatsStartOptions,
  serverName = 'roster',
  configFile?: string,
): string[] {
  return [
    ...(configFile !== undefined ? ['-c', configFile] : []),
    '-a',
    host,
    '-p',
    String(ports.client),
    '-m',
    String(ports.monitor),
    '-n',
    serverName,
    '-js',
    '--store_dir',
    storeDir,
    ...(options.user !== undefined ? ['--user', options.user] : []),
    ...(options.password !== undefined ? ['--pass', options.password] : []),
    ...(options.tls
      ? [
          '--tls',
          '--tlscert',
          options.tls.certFile,
          '--tlskey',
          options.tls.keyFile,
          '--tlscacert',
          options.tls.caFile,
          ...(options.tls.requireClientCert === false ? [] : ['--tlsverify']),
        ]
      : []),
  ];
}

/**
 * Ready means: the monitor says healthy with JetStream on, and the client port greets with an INFO
 * that has `jetstream: true`. (With TLS, nats-server 2.9 still sends that INFO in plain text
 * before the handshake, so the probe needs no certificate.)
 */
export async function natsIsReady(host: string, ports: NatsPorts): Promise<boolean> {
  const health = await httpGet(
    `http://${host}:${ports.monitor}/healthz?js-enabled-only=true`,
    PROBE_TIMEOUT_MS,
  );
  if (health.status !== 200) return false;
  const greeting = await tcpExchange({
    host,
    port: ports.client,
    until: (received) => received.includes('\r\n'),
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  const match = /^INFO\s+(\{.*\})\s*\r\n/.exec(greeting);
  if (!match?.[1]) throw new Error(`unexpected greeting: ${greeting.slice(0, 80)}`);
  return (JSON.parse(match[1]) as { jetstream?: boolean }).jetstream === true;
}

/**
 * A NATS server with JetStream (file storage) for one test run: `ROSTER_NATS_URL` if set, else a
 * container when Docker answers, else `nats-server` on free loopback ports.
 *
 * @example
 * ```ts
 * const nats = await startNats();
 * const nc = await connect({ servers: nats.url });
 * ```
 */
export async function startNats(options: NatsStartOptions = {}): Promise<NatsServiceHandle> {
  // TLS needs the certificates of this run, and a config file a local path: only a server we start
  // from the binary has them.
  const choice: SourceChoice =
    options.tls || options.config !== undefined ? { source: 'binary' } : await chooseSource(NATS_ENV_VAR);
  if (choice.source === 'env') {
    return { ...envServiceHandle('nats', choice.url, NATS_ENV_VAR), kind: 'nats', monitorUrl: undefined };
  }
  if (choice.source === 'container') {
    const { GenericContainer } = await import('testcontainers');
    const handle = await startContainerService(
      {
        kind: 'nats',
        containerPorts: [4222, 8222],
        ports: ([client, monitor]) => ({ client: client as number, monitor: monitor as number }),
        // Not @testcontainers/nats' NatsContainer: it always adds --user test --pass test, and the
        // handle promises a server that takes exactly the options given here.
        build: (_host, _ports, bindings) => {
          const container = new GenericContainer(NATS_IMAGE)
            .withExposedPorts(...bindings)
            .withCommand(natsArgs('0.0.0.0', { client: 4222, monitor: 8222 }, '/data', options));
          return options.storeDir
            ? container.withBindMounts([{ source: options.storeDir, target: '/data', mode: 'rw' }])
            : container;
        },
        url: (host, ports) => `nats://${host}:${ports.client}`,
        isReady: natsIsReady,
      },
      choice.runtime,
      options.startupTimeoutMs ?? 60_000,
    );
    return withMonitorUrl(handle, `http://${urlHost(handle.url)}:${handle.ports.monitor}`);
  }
  const handle = await startBinaryService(
    {
      kind: 'nats',
      binary: { name: 'nats-server', debianPackage: 'nats-server', envVar: NATS_ENV_VAR },
      portCount: 2,
      ports: ([client, monitor]) => ({ client: client as number, monitor: monitor as number }),
      args: (ports, dataDir, tempDir) =>
        natsArgs(
          '127.0.0.1',
          ports,
          options.storeDir ?? dataDir,
          options,
          'roster',
          writeConfig(tempDir, options.config),
        ),
      url: (ports) => `${options.tls ? 'tls' : 'nats'}://127.0.0.1:${ports.client}`,
      isReady: (ports) => natsIsReady('127.0.0.1', ports),
    },
    options,
  );
  return withMonitorUrl(handle, `http://127.0.0.1:${handle.ports.monitor}`);
}

function urlHost(url: string): string {
  return new URL(url).hostname;
}

function withMonitorUrl(
  handle: Omit<NatsServiceHandle, 'monitorUrl' | 'kind'>,
  monitorUrl: string,
): NatsServiceHandle {
  return Object.assign(handle, { kind: 'nats' as const, monitorUrl });
}

/** Writes `config` to `nats.conf` in `dir` and returns its path; undefined when there is none. */
export function writeConfig(dir: string, config: string | undefined): string | undefined {
  if (config === undefined) return undefined;
  const file = join(dir, 'nats.conf');
  writeFileSync(file, config);
  return file;
}
