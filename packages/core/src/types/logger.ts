/**
 * Where Roster reports what it noticed: foreign data, failed heartbeats, reconnects.
 * Any object with these four methods works (`console`, pino, winston).
 *
 * @example
 * ```ts
 * await createDiscovery({ backend, logger: console });
 * ```
 */
export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** The default logger: says nothing. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
