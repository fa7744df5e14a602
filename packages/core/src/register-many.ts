import { InvalidNodeError, InvalidOptionsError } from './errors.js';
import { nodeFrom } from './node-from.js';
import { encodeRecord } from './record-codec.js';
import type { NodeRegistration } from './types/node-registration.js';
import type { RegisterManyOptions } from './types/register-many-options.js';
import { assertValidRegistration } from './validation.js';

/** Default number of registrations of one `registerMany` call in flight at once. */
export const DEFAULT_REGISTER_CONCURRENCY = 32;

/** Same length as the random instance ids: the size check sees the record that will be written. */
const PROBE_INSTANCE_ID = '00000000-0000-4000-8000-000000000000';

/**
 * Checks a whole batch before anything is written: every registration valid, each id once,
 * each record within 16 KiB. Throws `InvalidNodeError` naming the first bad one.
 */
export function assertValidBatch(
  registrations: unknown,
): asserts registrations is readonly NodeRegistration[] {
  if (!Array.isArray(registrations))
    throw new InvalidNodeError(`registerMany() takes an array of registrations, got ${typeof registrations}`);
  const seen = new Map<string, number>();
  const now = Date.now();
  registrations.forEach((registration: unknown, index) => {
    try {
      assertValidRegistration(registration);
      encodeRecord(nodeFrom(registration, PROBE_INSTANCE_ID, now, now));
    } catch (error) {
      if (error instanceof InvalidNodeError)
        throw new InvalidNodeError(`registration ${index} of ${registrations.length}: ${error.message}`);
      throw error;
    }
    const first = seen.get(registration.id);
    if (first !== undefined)
      throw new InvalidNodeError(
        `id "${registration.id}" is listed twice (registrations ${first} and ${index}); register each node once per call`,
      );
    seen.set(registration.id, index);
  });
}

/** The concurrency of `options`, checked. */
export function concurrencyOf(options: RegisterManyOptions | undefined): number {
  const concurrency = options?.concurrency ?? DEFAULT_REGISTER_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InvalidOptionsError(`concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  return concurrency;
}

/**
 * Runs `task` over `items` with at most `concurrency` in flight; results in the order of `items`.
 * After the first failure no further task starts; those under way finish, then it rejects with
 * that first failure.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
