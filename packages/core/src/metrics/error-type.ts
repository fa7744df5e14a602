import { ATTR_ERROR_TYPE } from './instruments.js';

/**
 * The `error.type` of a failure, low-cardinality as OpenTelemetry asks: a Roster error's stable
 * `code` (`ERR_BACKEND_UNAVAILABLE` …), else the error's class name, else `_OTHER`.
 */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^ERR_[A-Z0-9_]{1,60}$/.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,60}$/.test(name)) return name;
  }
  return '_OTHER';
}

/** `base` plus `error.type` of `error`. */
export function withErrorType(
  base: Readonly<Record<string, string>>,
  error: unknown,
): Readonly<Record<string, string>> {
  return { ...base, [ATTR_ERROR_TYPE]: errorType(error) };
}
