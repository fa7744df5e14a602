/**
 * The conformance suite: every backend runs it, and a custom backend that passes it behaves like
 * the ones we ship. It takes a factory, never an instance; each case gets a fresh namespace;
 * cases for capabilities a backend lacks are reported as skipped by name (and the lack itself is
 * checked, e.g. history() rejecting UnsupportedCapabilityError).
 *
 * @example
 * ```ts
 * import { describeConformance } from '@roster/core/conformance';
 * describeConformance({
 *   name: 'redis',
 *   createBackend: ({ namespace }) => redisBackend({ url, namespace }),
 *   faults: { restart: () => server.restart(), pause: (ms) => server.pause(ms) },
 * });
 * ```
 */
import { beforeAll, describe } from 'vitest';
import type { BackendCapabilities } from '../spi/discovery-backend.js';
import { backendCases } from './cases/backend.js';
import { capabilityCases } from './cases/capabilities.js';
import { expiryCases } from './cases/expiry.js';
import { faultCases } from './cases/faults.js';
import { lifecycleCases } from './cases/lifecycle.js';
import { membershipCases } from './cases/membership.js';
import { ownershipCases } from './cases/ownership.js';
import { validationCases } from './cases/validation.js';
import { watchCases } from './cases/watch.js';
import { type ConformanceOptions, captureLogger, Scope, type SuiteContext } from './harness.js';

export { INVALID_REGISTRATIONS } from './cases/validation.js';
export type { ConformanceFaults, ConformanceOptions } from './harness.js';
export { Recorder, type Seen, waitFor, wellFormedProblem } from './harness.js';

/** Registers the conformance cases (vitest `describe`/`it`) for one backend. */
export function describeConformance(options: ConformanceOptions): void {
  const ttl = options.ttl ?? 1_000;
  let supports: BackendCapabilities | undefined;
  const suite: SuiteContext = {
    options,
    ttl,
    expiryGrace: Math.max(1_000, ttl / 4),
    expiryWait: ttl + Math.max(1_000, ttl / 4) + 5_000,
    supports: () => {
      if (!supports) throw new Error('capabilities are read in beforeAll');
      return supports;
    },
    scope: (onTestFinished) => new Scope(suite, onTestFinished),
  };

  describe(`conformance: ${options.name}`, () => {
    beforeAll(async () => {
      const probe = options.createBackend({ namespace: `cfprobe${Date.now().toString(36)}` });
      await probe.open({ ttl, logger: captureLogger() });
      supports = { ...probe.supports };
      await probe.close();
    });

    backendCases(suite);
    membershipCases(suite);
    expiryCases(suite);
    ownershipCases(suite);
    watchCases(suite);
    validationCases(suite);
    capabilityCases(suite);
    lifecycleCases(suite);
    faultCases(suite);
  });
}
