// The cursor of `list()` and `watch()`: opaque to core, so only the backend can tell one of its
// own from anything else. A cursor it never returned is bad input, refused the same way on every
// backend: `InvalidOptionsError`, thrown by `watch()`, nothing delivered.

import { InvalidOptionsError } from '../errors.js';

/**
 * The error `watch()` throws for a cursor this backend's `list()` never returned.
 *
 * @param backend the backend's `name`
 * @param expected what its cursors look like, e.g. `a stream id and a revision ("1-0@5")`
 */
export function invalidCursor(backend: string, cursor: string, expected: string): InvalidOptionsError {
  return new InvalidOptionsError(
    `not a ${backend} cursor: ${JSON.stringify(cursor)}; a cursor is ${expected}, as list() returns it`,
  );
}

/**
 * Reads a cursor that is a revision (`String(revision)`, a whole number >= 0), the common kind;
 * anything else throws {@link invalidCursor}.
 *
 * @example
 * ```ts
 * watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
 *   const after = revisionCursor('mystore', cursor);
 *   …
 * }
 * ```
 */
export function revisionCursor(backend: string, cursor: string): number {
  const revision = /^\d{1,16}$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(revision))
    throw invalidCursor(backend, cursor, 'a revision (a whole number >= 0)');
  return revision;
}
