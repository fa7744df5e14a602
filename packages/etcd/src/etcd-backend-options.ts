// The options of etcdBackend(): their documentation, validation, and the client they describe.
import { InvalidOptionsError } from '@roster/core';
import { assertValidNamespace, type BackendFactoryOptions, numberOption } from '@roster/core/spi';
import { Etcd3, type IOptions } from 'etcd3';
import type { HostHealth } from './host-health.js';
import { DEFAULT_PREFIX, KeyLayout } from './key-layout.js';

/** Settings every form of {@link EtcdBackendOptions} takes. */
export interface EtcdCommonOptions extends BackendFactoryOptions {
  /** First segment of every key (`<prefix>/<namespace>/…`). Default `roster`. */
  prefix?: string;
  /**
   * Ms `open()` waits for the first answer before rejecting with `BackendUnavailableError`
   * (etcd3 would otherwise wait for the server forever). Default 5 000.
   */
  connectTimeout?: number;
  /**
   * Ms within which every later call that waits on etcd (put, delete, get, list, history) settles,
   * so that a frozen or unreachable server fails calls instead of hanging them. Default 5 000.
   */
  requestTimeout?: number;
}

/** Connect with etcd3 options: `hosts` plus anything `new Etcd3()` takes (`auth`, `credentials` for TLS, `grpcOptions` …). */
export interface EtcdHostsOptions extends EtcdCommonOptions, IOptions {
  client?: never;
}

/** Use a client the application made; it is never closed by the backend. */
export interface EtcdClientOptions extends EtcdCommonOptions {
  client: Etcd3;
  hosts?: never;
}

/** Options of {@link etcdBackend}: either `hosts` (and etcd3 options) or a `client`. */
export type EtcdBackendOptions = EtcdHostsOptions | EtcdClientOptions;

const DEFAULT_CONNECT_TIMEOUT = 5_000;
const DEFAULT_REQUEST_TIMEOUT = 5_000;

/** The options, checked and with their defaults: what the backend runs on. */
export interface EtcdSettings {
  readonly namespace: string;
  readonly layout: KeyLayout;
  readonly connectTimeout: number;
  readonly requestTimeout: number;
  /** The hosts as one string for messages. */
  readonly hosts: string;
  /** False when the application gave the client: the backend never closes it. */
  readonly ownsClient: boolean;
}

/** Checks the options (an `InvalidOptionsError` names the first bad one) and fills in defaults. */
export function resolveEtcdSettings(options: EtcdBackendOptions): EtcdSettings {
  const namespace = options.namespace ?? 'default';
  assertValidNamespace(namespace);
  const layout = new KeyLayout(options.prefix ?? DEFAULT_PREFIX, namespace);
  const ms = (fallback: number) => ({ fallback, above: 0, integer: false, unit: 'ms' });
  const connectTimeout = numberOption('connectTimeout', options.connectTimeout, ms(DEFAULT_CONNECT_TIMEOUT));
  const requestTimeout = numberOption('requestTimeout', options.requestTimeout, ms(DEFAULT_REQUEST_TIMEOUT));
  const common = { namespace, layout, connectTimeout, requestTimeout };
  if (options.client) {
    if (!(options.client instanceof Etcd3))
      throw new InvalidOptionsError(
        'etcd client must be an Etcd3 instance from the etcd3 package (not a namespace())',
      );
    return { ...common, ownsClient: false, hosts: 'the given client' };
  }
  if (!options.hosts || (Array.isArray(options.hosts) && options.hosts.length === 0))
    throw new InvalidOptionsError('etcdBackend needs `hosts` (e.g. "http://127.0.0.1:2379") or a `client`');
  return {
    ...common,
    ownsClient: true,
    hosts: Array.isArray(options.hosts) ? options.hosts.join(',') : options.hosts,
  };
}

/** An etcd3 fault-handling policy that runs the call once: core retries, and a circuit breaker would hide a restarted server for 5 s. */
const runOnce = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** The hosts of `hosts`-form options, one string each. */
export function hostList(options: EtcdHostsOptions): string[] {
  return typeof options.hosts === 'string' ? [options.hosts] : [...(options.hosts ?? [])];
}

/**
 * The client the options describe (etcd3 options without Roster's own), calling each request
 * once, on a member `health` does not suspect (see `host-health.ts`) unless every member is.
 */
export function createClient(options: EtcdBackendOptions, health?: HostHealth): Etcd3 {
  const {
    client: _client,
    namespace: _ns,
    prefix: _prefix,
    connectTimeout: _c,
    requestTimeout: _r,
    ...rest
  } = options as EtcdBackendOptions & IOptions;
  return new Etcd3({
    ...rest,
    faultHandling: {
      host: (host) => health?.policy(host) ?? runOnce,
      global: runOnce,
      ...rest.faultHandling,
    },
  });
}
