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
import { ownerProcessCases } from './cases/owner-process.js';
import { ownershipCases } from './cases/ownership.js';
import { resilienceCases } from './cases/resilience.js';
import { spiCases } from './cases/spi-cases.js';
import { ttlCases } from './cases/ttl.js';
import { validationCases } from './cases/validation.js';
import { watchCases } from './cases/watch.js';
import { type ConformanceOptions, expiryGraceFor, Scope, type SuiteContext, WAIT_LIMIT } from './harness.js';
import { captureLogger } from './test-kit.js';

// DelegatingBackend lives in `@roster/core/spi` now; exported here too for code written before.
export { DelegatingBackend } from '../spi/delegating-backend.js';
export { FailingWatchBackend, SlowFeedBackend, SlowListBackend } from './backend-wrappers.js';
export { INVALID_REGISTRATIONS } from './cases/validation.js';
export type { ClusterFaultContext, ConformanceFaults, ConformanceOptions } from './harness.js';
export { Recorder, type Seen, waitFor, wellFormedProblem } from './harness.js';
export { type OwnerProcess, type OwnerProcessContext, spawnOwnerProcess } from './owner-process.js';
export {
  type CapturedLog,
  type CapturedLogger,
  type Closable,
  captureLogger,
  freshNamespace,
  type LogLevel,
  type OnTestFinished,
  open,
} from './test-kit.js';

/** Registers the conformance cases (vitest `describe`/`it`) for one backend. */
export function describeConformance(options: ConformanceOptions): void {
  const ttl = options.ttl ?? 1_000;
  let supports: BackendCapabilities | undefined;
  const suite: SuiteContext = {
    options,
    ttl,
    expiryGrace: expiryGraceFor(ttl),
    expiryWait: ttl + expiryGraceFor(ttl) + 5_000,
    requestTimeout: options.requestTimeout ?? 5_000,
    // A few waits of WAIT_LIMIT and a few ttls: what the longest ordinary case can take on a
    // loaded machine and still be correct.
    caseTimeout: (at = ttl) => 3 * WAIT_LIMIT + 6 * at,
    supports: () => {
      if (!supports) throw new Error('capabilities are read in beforeAll');
      return supports;
    },
    scope: (onTestFinished) => new Scope(suite, onTestFinished),
  };

  // Every case inherits a timeout computed from the ttl (cases that need more set their own):
  // the suite does not depend on the caller's vitest `testTimeout`.
  describe(`conformance: ${options.name}`, { timeout: suite.caseTimeout() }, () => {
    beforeAll(async () => {
      const probe = options.createBackend({ namespace: `cfprobe${Date.now().toString(36)}` });
      await probe.open({ ttl, logger: captureLogger() });
      supports = { ...probe.supports };
      await probe.close();
    }, 3 * WAIT_LIMIT);

    backendCases(suite);
    spiCases(suite);
    membershipCases(suite);
    expiryCases(suite);
    ttlCases(suite);
    ownershipCases(suite);
    watchCases(suite);
    validationCases(suite);
    capabilityCases(suite);
    lifecycleCases(suite);
    resilienceCases(suite);
    ownerProcessCases(suite);
    faultCases(suite);
  });
}
