export { type NatsBackendOptions, natsBackend } from './nats-backend.js';
