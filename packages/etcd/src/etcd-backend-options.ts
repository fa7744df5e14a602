import type { BackendFactoryOptions } from '@roster/core';
import type { Etcd3, IOptions } from 'etcd3';

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
