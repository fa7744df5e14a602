/**
 * Every error Roster throws on purpose. Match on `code` (stable) or `instanceof`.
 *
 * @example
 * ```ts
 * try { await discovery.heartbeat('api-9'); }
 * catch (error) { if (error instanceof DiscoveryError && error.code === 'ERR_NOT_REGISTERED') … }
 * ```
 */
export class DiscoveryError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

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
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/**
 * The server refused our credentials (authentication) or the operation (authorization): a
 * reachable server that says no. Not retried as an outage; fix the user, password, token,
 * certificate or permissions.
 */
export class BackendAuthError extends DiscoveryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_AUTH', message, options);
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
