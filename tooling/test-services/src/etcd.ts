import { startBinaryService } from './binary-service.js';
import { startContainerService } from './container-service.js';
import { envServiceHandle } from './env-service.js';
import type { CommonStartOptions, ServiceHandle } from './service-handle.js';
import { chooseSource, type SourceChoice } from './service-source.js';
import { httpRequest } from './tcp-exchange.js';
import { probeTlsOptions, type ServerTlsOptions } from './tls-certificates.js';

/** Options for {@link startEtcd}. */
export interface EtcdStartOptions extends CommonStartOptions {
  /**
   * Serve clients over HTTPS (`--cert-file --key-file --trusted-ca-file`, plus
   * `--client-cert-auth` unless `requireClientCert: false`); the URL becomes `https://…`. Peers
   * stay on plain HTTP (one member, loopback). Always from the binary.
   */
  tls?: ServerTlsOptions;
}

export const ETCD_ENV_VAR = 'ROSTER_ETCD_URL';
// No @testcontainers/etcd for testcontainers 11; the image ships the binary at /usr/local/bin/etcd.
const ETCD_IMAGE = 'gcr.io/etcd-development/etcd:v3.5.17';
const PROBE_TIMEOUT_MS = 1_000;

export interface EtcdPorts {
  client: number;
  peer: number;
}

/**
 * Single-member cluster. The --initial-* flags only matter on the first start: on restart etcd
 * finds the member in the data dir and ignores them.
 */
export function etcdArgs(
  listenHost: string,
  advertiseHost: string,
  ports: EtcdPorts,
  advertised: EtcdPorts,
  dataDir: string,
  tls?: ServerTlsOptions,
): string[] {
  const peerUrl = `http://${advertiseHost}:${advertised.peer}`;
  const scheme = tls ? 'https' : 'http';
  return [
    '--name',
    'roster',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    `${scheme}://${listenHost}:${ports.client}`,
    '--advertise-client-urls',
    `${scheme}://${advertiseHost}:${advertised.client}`,
    ...(tls
      ? [
          '--cert-file',
          tls.certFile,
          '--key-file',
          tls.keyFile,
          '--trusted-ca-file',
          tls.caFile,
          ...(tls.requireClientCert === false ? [] : ['--client-cert-auth']),
        ]
      : []),
    '--listen-peer-urls',
    `http://${listenHost}:${ports.peer}`,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `roster=${peerUrl}`,
    // Loopback, one member: a short election timeout brings a restarted member back as leader in
    // a fraction of the default 1 s, and lets tests use short lease TTLs.
    '--heartbeat-interval',
    '25',
    '--election-timeout',
    '250',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
}

/** Ready means GET /health on the client URL answers `{"health":"true"}` (a leader is elected). */
export async function etcdIsReady(host: string, port: number, tls?: ServerTlsOptions): Promise<boolean> {
  const { status, body } = await httpRequest(`${tls ? 'https' : 'http'}://${host}:${port}/health`, {
    timeoutMs: PROBE_TIMEOUT_MS,
    ...(tls ? { tls: probeTlsOptions(tls) } : {}),
  });
  return status === 200 && (JSON.parse(body) as { health?: unknown }).health === 'true';
}

/**
 * A single-node etcd for one test run: `ROSTER_ETCD_URL` if set, else a container when Docker
 * answers, else `etcd` with client and peer URLs on free loopback ports.
 *
 * @example
 * ```ts
 * const etcd = await startEtcd();
 * const client = new Etcd3({ hosts: etcd.url });
 * ```
 */
export async function startEtcd(options: EtcdStartOptions = {}): Promise<ServiceHandle> {
  // TLS needs the certificates of this run: only a server we start from the binary has them.
  const choice: SourceChoice = options.tls ? { source: 'binary' } : await chooseSource(ETCD_ENV_VAR);
  if (choice.source === 'env') return envServiceHandle('etcd', choice.url, ETCD_ENV_VAR);
  if (choice.source === 'container') {
    const { GenericContainer } = await import('testcontainers');
    const inside = { client: 2379, peer: 2380 };
    return startContainerService(
      {
        kind: 'etcd',
        containerPorts: [inside.client, inside.peer],
        ports: ([client, peer]) => ({ client: client as number, peer: peer as number }),
        build: (host, ports, bindings) =>
          new GenericContainer(ETCD_IMAGE)
            .withExposedPorts(...bindings)
            .withCommand(['/usr/local/bin/etcd', ...etcdArgs('0.0.0.0', host, inside, ports, '/etcd-data')]),
        url: (host, ports) => `http://${host}:${ports.client}`,
        isReady: (host, ports) => etcdIsReady(host, ports.client),
      },
      choice.runtime,
      options.startupTimeoutMs ?? 60_000,
    );
  }
  return startBinaryService(
    {
      kind: 'etcd',
      binary: { name: 'etcd', debianPackage: 'etcd-server', envVar: ETCD_ENV_VAR },
      portCount: 2,
      ports: ([client, peer]) => ({ client: client as number, peer: peer as number }),
      args: (ports, dataDir) => etcdArgs('127.0.0.1', '127.0.0.1', ports, ports, dataDir, options.tls),
      url: (ports) => `${options.tls ? 'https' : 'http'}://127.0.0.1:${ports.client}`,
      isReady: (ports) => etcdIsReady('127.0.0.1', ports.client, options.tls),
    },
    options,
  );
}
