import { describe, it } from 'vitest';
import { type SuiteContext, WAIT_LIMIT } from '../harness.js';

/** What starting the owner process may take on top of the case: the hook may build the package first. */
const OWNER_START_LIMIT = 60_000;

/** Rule 4 with a real crash: the owner is another process, killed without a chance to clean up. */
export function ownerProcessCases(suite: SuiteContext): void {
  // On its own, not beside the concurrent cases: a hook may build the package its fixture runs
  // (synchronously, blocking the event loop), and the case measures a timing rule.
  describe.sequential('owner process', () => {
    it(
      'owner process: an owner killed with SIGKILL is left expired at every watcher within the bound',
      async (context) => {
        const start = suite.options.ownerProcess;
        if (!start) return context.skip();
        const { expect } = context;
        const scope = suite.scope(context.onTestFinished);
        const watchers = [scope.record(await scope.open()), scope.record(await scope.open())];
        const started = Date.now();
        const owner = await start({ namespace: scope.namespace, ttl: suite.ttl, id: 'killed-1' });
        scope.defer(() => owner.kill());
        for (const watch of watchers)
          await watch.joined(
            'killed-1',
            WAIT_LIMIT,
            0,
            'the owner process registered killed-1 but the feed never said so',
          );
        const killed = Date.now();
        await owner.kill();
        for (const [index, watch] of watchers.entries()) {
          const left = await watch.left(
            'killed-1',
            suite.expiryWait,
            0,
            `watcher ${index + 1}: nothing removed killed-1 after its owner process died (the store must expire it)`,
          );
          expect(left.event, `watcher ${index + 1}`).toMatchObject({ reason: 'expired' });
          // Its last heartbeat came between its start and its death.
          expect(
            left.at - started,
            `watcher ${index + 1}: left before a ttl had passed`,
          ).toBeGreaterThanOrEqual(suite.ttl);
          expect(
            left.at - killed,
            `watcher ${index + 1}: left later than ttl + max(1 s, ttl / 4) after the owner died`,
          ).toBeLessThanOrEqual(suite.ttl + suite.expiryGrace);
          expect(watch.summary('killed-1')).toEqual(['joined:killed-1', 'left:killed-1:expired']);
        }
      },
      suite.caseTimeout() + OWNER_START_LIMIT,
    );
  });
}
