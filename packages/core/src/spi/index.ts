// `@roster/core/spi`: what a backend author needs and an application does not — the contract
// types, and the toolkit every backend uses instead of its own copy: option checks, the error
// mapper, the open/closed state, request deadlines, key and value validation, DeadlineQueue, and
// DelegatingBackend, the base of a backend that wraps another.
// See docs/custom-backend.md.

export { DeadlineQueue } from '../deadline-queue.js';
export type { BackendFailure } from '../errors.js';
export { RetryBackoff, type RetryBackoffOptions } from '../retry-backoff.js';
export {
  assertValidKey,
  assertValidNamespace,
  assertValidValueSize,
  idProblem,
  MAX_RECORD_BYTES,
} from '../validation.js';
export {
  type BackendErrorMapper,
  type BackendErrorMapperOptions,
  backendErrorMapper,
  networkFailureOf,
} from './backend-errors.js';
export { BackendLifecycle, type BackendState } from './backend-lifecycle.js';
export { DelegatingBackend } from './delegating-backend.js';
export type {
  BackendCapabilities,
  BackendChange,
  BackendEntry,
  BackendFactoryOptions,
  BackendOpenContext,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
  NamespaceInspection,
  PutOptions,
  PutResult,
  WriteCondition,
} from './discovery-backend.js';
export { choiceOption, exclusiveOptions, type NumberOptionRule, numberOption } from './option-checks.js';
export { delay, type RequestTimeoutDetails, requestTimedOut, withDeadline } from './request-deadline.js';
export { invalidCursor, revisionCursor } from './watch-cursor.js';
