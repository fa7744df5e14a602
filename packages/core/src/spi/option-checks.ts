// Checks of a backend factory's options, one spelling for every backend: an out-of-range option
// is an `InvalidOptionsError` that names the option, what was given and what is allowed, thrown
// by the factory before anything connects.

import { InvalidOptionsError } from '../errors.js';

/** What a numeric option allows. */
export interface NumberOptionRule {
  /** Used when the option is `undefined`. */
  readonly fallback: number;
  /** Smallest allowed value (inclusive). Default: no lower bound beyond `above`. */
  readonly min?: number;
  /** Largest allowed value (inclusive). Default: none. */
  readonly max?: number;
  /** The value must be greater than this (exclusive), e.g. `0` for a duration that must be positive. */
  readonly above?: number;
  /** Whole numbers only. Default `true`. */
  readonly integer?: boolean;
  /** A unit for the message, e.g. `'ms'`: "must be a number of ms > 0". */
  readonly unit?: string;
}

function allowed(rule: NumberOptionRule): string {
  const kind = rule.integer === false ? 'a number' : 'a whole number';
  const noun = rule.unit ? `${kind} of ${rule.unit}` : kind;
  const bounds: string[] = [];
  if (rule.min !== undefined && rule.max !== undefined) bounds.push(`from ${rule.min} to ${rule.max}`);
  else if (rule.min !== undefined) bounds.push(`>= ${rule.min}`);
  else if (rule.max !== undefined) bounds.push(`<= ${rule.max}`);
  if (rule.above !== undefined) bounds.push(`> ${rule.above}`);
  return [noun, ...bounds].join(' ');
}

/**
 * A numeric option, checked, or its fallback when not given.
 *
 * @example
 * ```ts
 * import { numberOption } from '@roster/core/spi';
 *
 * const requestTimeout = numberOption('requestTimeout', options.requestTimeout, { fallback: 5_000, min: 100 });
 * const history = numberOption('history', options.history, { fallback: 5, min: 1, max: 64 });
 * ```
 */
export function numberOption(name: string, value: unknown, rule: NumberOptionRule): number {
  if (value === undefined) return rule.fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (rule.integer === false || Number.isSafeInteger(value)) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max) &&
    (rule.above === undefined || value > rule.above);
  if (!ok) throw new InvalidOptionsError(`${name} must be ${allowed(rule)}, got ${describe(value)}`);
  return value as number;
}

/**
 * An option that takes one of a few strings, checked, or its fallback when not given.
 *
 * @example
 * ```ts
 * const storage = choiceOption('storage', options.storage, ['file', 'memory'] as const, 'file');
 * ```
 */
export function choiceOption<const T extends string>(
  name: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw new InvalidOptionsError(
    `${name} must be ${choices.map((choice) => JSON.stringify(choice)).join(' or ')}, got ${describe(value)}`,
  );
}

/**
 * Options that cannot be combined, e.g. a `client` the application owns and connection options
 * for a client the backend would make. Names the given ones in the message.
 *
 * @example
 * ```ts
 * exclusiveOptions({ client: options.client }, { url: options.url, host: options.host });
 * ```
 */
export function exclusiveOptions(
  one: Readonly<Record<string, unknown>>,
  other: Readonly<Record<string, unknown>>,
): void {
  const given = (group: Readonly<Record<string, unknown>>) =>
    Object.keys(group).filter((key) => group[key] !== undefined);
  const first = given(one);
  const second = given(other);
  if (first.length === 0 || second.length === 0) return;
  throw new InvalidOptionsError(
    `give either ${first.join(', ')} or ${second.join(', ')}, not both (got ${[...first, ...second].join(', ')})`,
  );
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
