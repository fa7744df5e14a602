/**
 * Marks every Roster error, under a registry symbol so that it is the same in every copy of
 * @roster/core in a process (its ESM and CommonJS builds, two installed versions): `instanceof`
 * fails across copies, {@link DiscoveryError.isInstance} does not. The value lists the error's
 * class and its base classes by name, so that subclasses have an `isInstance` of their own.
 */
const MARKER = Symbol.for('@roster/core.DiscoveryError');

/**
 * Every error Roster throws on purpose. Match on `code` (stable), `isInstance` or `instanceof`.
 *
 * @example
 * ```ts
 * try { await discovery.heartbeat('api-9'); }
 * catch (error) { if (NodeNotRegisteredError.isInstance(error)) await discovery.register({ id: 'api-9' }); }
 * ```
 */
export class DiscoveryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const classes: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c))
      classes.push(c.name);
    Object.defineProperty(this, MARKER, { value: Object.freeze(classes), enumerable: false });
  }

  /**
   * Whether `value` is an error of this class (or a subclass), also when it comes from another
   * copy of @roster/core (ESM and CommonJS side by side), where `instanceof` says no.
   *
   * @example
   * ```ts
   * if (DiscoveryError.isInstance(error)) console.error(error.code, error.message);
   * if (BackendAuthError.isInstance(error)) console.error('check the credentials');
   * ```
   */
  static isInstance<T extends abstract new (...args: never[]) => DiscoveryError>(
    this: T,
    value: unknown,
  ): value is InstanceType<T> {
    if (typeof value !== 'object' || value === null) return false;
    const classes = (value as { [MARKER]?: unknown })[MARKER];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class it was called on, a subclass too.
    return Array.isArray(classes) && classes.includes(this.name);
  }
}

/**
 * What kind of backend failure an error reports, when the backend could tell: the server
 * cannot be reached, it did not answer in time, it refused the credentials, or it refused the
 * operation to this user. See `backendErrorMapper` in `@roster/core/spi`.
 */
export type BackendFailure = 'unreachable' | 'timed-out' | 'auth-refused' | 'permission-denied';

/** A node (id, address, metadata, load, size) breaks the rules; nothing was written. */
export class InvalidNodeError extends DiscoveryError {
  constructor(message: string) {
    super('ERR_INVALID_NODE', message);
  }
}

/** `heartbeat()` of an id this instance does not own. */
export class NodeNotRegisteredError extends DiscoveryError {
  constructor(message: string) {
    super('ERR_NOT_REGISTERED', message);
  }
}

/** The instance was closed. */
export class DiscoveryClosedError extends DiscoveryError {
  constructor(message = 'this discovery instance is closed; create a new one with createDiscovery()') {
    super('ERR_CLOSED', message);
  }
}

/** The backend's server cannot be reached, or refused the operation. */
export class BackendUnavailableError extends DiscoveryError {
  /** `unreachable` or `timed-out` when the backend could tell; else undefined. */
  readonly failure: Extract<BackendFailure, 'unreachable' | 'timed-out'> | undefined;
  constructor(
    message: string,
    options?: { cause?: unknown; failure?: Extract<BackendFailure, 'unreachable' | 'timed-out'> },
  ) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
    this.failure = options?.failure;
  }
}

/**
 * The server refused our credentials (authentication) or the operation (authorization): a
 * reachable server that says no. Not retried as an outage; fix the user, password, token,
 * certificate or permissions.
 */
export class BackendAuthError extends DiscoveryError {
  /** `auth-refused` (credentials) or `permission-denied` (the operation) when the backend could tell. */
  readonly failure: Extract<BackendFailure, 'auth-refused' | 'permission-denied'> | undefined;
  constructor(
    message: string,
    options?: { cause?: unknown; failure?: Extract<BackendFailure, 'auth-refused' | 'permission-denied'> },
  ) {
    super('ERR_BACKEND_AUTH', message, options);
    this.failure = options?.failure;
  }
}

/** The backend does not offer this capability (see `backend.supports`). */
export class UnsupportedCapabilityError extends DiscoveryError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

/** The namespace already exists on the server with settings other than the ones asked for. */
export class ConfigMismatchError extends DiscoveryError {
  constructor(message: string) {
    super('ERR_CONFIG_MISMATCH', message);
  }
}

/** An option given to `createDiscovery` or to a backend factory is out of range. */
export class InvalidOptionsError extends DiscoveryError {
  constructor(message: string) {
    super('ERR_INVALID_OPTIONS', message);
  }
}
