import { readFileSync } from 'node:fs';
import type { DiscoveryBackend } from '@roster/core';
import type { BackendKind, BackendTarget } from './backend-url.js';
import { CliError, UsageError } from './cli-error.js';
import type { ConnectionFlags } from './connection-flags.js';
import { loadBackendPackage, type ModuleLoader } from './module-loader.js';

/** Which package and factory serve each backend kind (all optional peer dependencies of the CLI). */
export const BACKEND_PACKAGES: Record<BackendKind, { packageName: string; factory: string }> = {
  memory: { packageName: '@roster/memory', factory: 'memoryBackend' },
  nats: { packageName: '@roster/nats', factory: 'natsBackend' },
  redis: { packageName: '@roster/redis', factory: 'redisBackend' },
  etcd: { packageName: '@roster/etcd', factory: 'etcdBackend' },
};

type Factory = (options: Record<string, unknown>) => DiscoveryBackend;

/**
 * Loads the backend package for `target` (dynamic import: only the one in use must be installed)
 * and calls its factory with the connection settings from the URL and the flags.
 */
export async function createBackend(
  target: BackendTarget,
  namespace: string,
  flags: ConnectionFlags,
  load: ModuleLoader,
  connectTimeout?: number,
): Promise<DiscoveryBackend> {
  const { packageName, factory: factoryName } = BACKEND_PACKAGES[target.kind];
  const module = await loadBackendPackage(load, packageName, target.scheme);
  const factory = module[factoryName];
  if (typeof factory !== 'function')
    throw new CliError(`${packageName} has no ${factoryName}() export`, {
      hint: `install a version of ${packageName} that matches @roster/cli`,
    });
  return (factory as Factory)(backendOptions(target, namespace, flags, connectTimeout));
}

/** The factory options for each backend: what its README documents. */
export function backendOptions(
  target: BackendTarget,
  namespace: string,
  flags: ConnectionFlags,
  connectTimeout?: number,
): Record<string, unknown> {
  const timeout = connectTimeout !== undefined;
  const tls = target.tls || flags.tls;
  const user = flags.user ?? target.username;
  const password = flags.password ?? target.password;
  switch (target.kind) {
    case 'memory':
      return { namespace };
    case 'nats':
      return {
        namespace,
        servers: target.hosts.map((host) => `${tls ? 'tls' : 'nats'}://${host}`),
        ...(user !== undefined ? { user } : {}),
        ...(password !== undefined ? { pass: password } : {}),
        ...(flags.token !== undefined ? { token: flags.token } : {}),
        ...(tls ? { tls: natsTls(flags) } : {}),
        ...(timeout ? { timeout: connectTimeout } : {}),
      };
    case 'redis': {
      // ioredis reads credentials, TLS (rediss:) and the database from the URL.
      if (target.hosts.length > 1)
        throw new UsageError(
          'a redis URL takes one host',
          'give the address of one Redis server (or cluster node)',
        );
      const auth =
        user !== undefined || password !== undefined
          ? `${encodeURIComponent(user ?? '')}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@`
          : '';
      const url = `${tls ? 'rediss' : 'redis'}://${auth}${target.hosts[0]}${target.database !== undefined ? `/${target.database}` : ''}`;
      const tlsFiles = flags.tlsCa || flags.tlsCert || flags.tlsKey;
      return {
        namespace,
        url,
        ...(tlsFiles ? { tls: pemFiles(flags) } : {}),
        ...(timeout ? { connectTimeout } : {}),
      };
    }
    case 'etcd':
      return {
        namespace,
        hosts: target.hosts.map((host) => `${tls ? 'https' : 'http'}://${host}`),
        ...(user !== undefined ? { auth: { username: user, password: password ?? '' } } : {}),
        ...(tls && (flags.tlsCa || flags.tlsCert) ? { credentials: etcdCredentials(flags) } : {}),
        ...(timeout ? { connectTimeout } : {}),
      };
  }
}

function natsTls(flags: ConnectionFlags): Record<string, string> {
  return {
    ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}),
    ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
  };
}

function pemFiles(flags: ConnectionFlags): Record<string, Buffer> {
  return {
    ...(flags.tlsCa ? { ca: readPem(flags.tlsCa, '--tls-ca') } : {}),
    ...(flags.tlsCert ? { cert: readPem(flags.tlsCert, '--tls-cert') } : {}),
    ...(flags.tlsKey ? { key: readPem(flags.tlsKey, '--tls-key') } : {}),
  };
}

function etcdCredentials(flags: ConnectionFlags): Record<string, Buffer> {
  return {
    ...(flags.tlsCa ? { rootCertificate: readPem(flags.tlsCa, '--tls-ca') } : {}),
    ...(flags.tlsCert ? { certChain: readPem(flags.tlsCert, '--tls-cert') } : {}),
    ...(flags.tlsKey ? { privateKey: readPem(flags.tlsKey, '--tls-key') } : {}),
  };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
}
