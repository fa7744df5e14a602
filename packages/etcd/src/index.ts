// The public surface of @roster/etcd.
export { etcdBackend } from './etcd-backend.js';
export type {
  EtcdBackendOptions,
  EtcdClientOptions,
  EtcdCommonOptions,
  EtcdHostsOptions,
} from './etcd-backend-options.js';
export { DEFAULT_PREFIX } from './key-layout.js';
