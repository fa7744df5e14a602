export { ETCD_ENV_VAR, type EtcdStartOptions, startEtcd } from './etcd.js';
export { freePort } from './free-port.js';
export { NATS_ENV_VAR, type NatsStartOptions, startNats } from './nats.js';
export { REDIS_ENV_VAR, type RedisStartOptions, startRedis } from './redis.js';
export { stopAllServices } from './registry.js';
export type {
  CommonStartOptions,
  NatsServiceHandle,
  ServiceHandle,
  ServiceKind,
  ServiceSource,
} from './service-handle.js';
export { MODE_ENV_VAR } from './service-source.js';
export { type WaitForOptions, waitFor } from './wait-for.js';
