export type { ClusterHandle, FailoverReport } from './cluster-handle.js';
export { ETCD_ENV_VAR, type EtcdStartOptions, startEtcd } from './etcd.js';
export { type EtcdClusterHandle, type EtcdClusterStartOptions, startEtcdCluster } from './etcd-cluster.js';
export { freePort } from './free-port.js';
export { describeLeastPrivilege, type LeastPrivilegeOptions } from './least-privilege.js';
export { NATS_ENV_VAR, type NatsStartOptions, startNats } from './nats.js';
export { type NatsClusterHandle, type NatsClusterStartOptions, startNatsCluster } from './nats-cluster.js';
export { REDIS_ENV_VAR, type RedisAclUser, type RedisStartOptions, startRedis } from './redis.js';
export {
  type RedisClusterHandle,
  type RedisClusterNode,
  type RedisClusterStartOptions,
  startRedisCluster,
} from './redis-cluster.js';
export {
  type RedisSentinelHandle,
  type RedisSentinelStartOptions,
  startRedisSentinel,
} from './redis-sentinel.js';
export { stopAllServices } from './registry.js';
export type { RedisAddress } from './resp.js';
export type {
  CommonStartOptions,
  NatsServiceHandle,
  ServiceHandle,
  ServiceKind,
  ServiceSource,
} from './service-handle.js';
export { MODE_ENV_VAR } from './service-source.js';
// The test kit for backend tests (custom backends' too).
export {
  type CapturedLog,
  type CapturedLogger,
  type Closable,
  captureLogger,
  ensureBuilt,
  freshNamespace,
  type LogLevel,
  type OwnerLine,
  type OwnerProcess,
  type OwnerProcessOptions,
  open,
  startOwnerProcess,
} from './test-kit.js';
export {
  makeTlsCertificates,
  type ServerTlsOptions,
  type TlsCertificateOptions,
  type TlsCertificates,
  type TlsServerFiles,
} from './tls-certificates.js';
export { type WaitForOptions, waitFor } from './wait-for.js';
