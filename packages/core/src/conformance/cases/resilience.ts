import { describe, it } from 'vitest';
import type { NodeChangeEvent } from '../../types/node-change-event.js';
import type { NodeInfo } from '../../types/node-info.js';
import { FailingWatchBackend, SlowFeedBackend, SlowListBackend } from '../backend-wrappers.js';
import {
  type Recorder,
  type SuiteContext,
  sleepUntil,
  WAIT_LIMIT,
  waitFor,
  wellFormedProblem,
} from '../harness.js';

/** How late the wrapped list or feed answers: longer than a few writes take, shorter than a ttl. */
const LIST_DELAY = 500;
const FEED_DELAY = 400;
/** Rule 15: "a few" list calls per second; over the 2 s observed, at most this many. */
const MAX_LISTS = 10;

/** The loads an instance's watcher saw for `id`, in order, and where they went backwards. */
function loadRegression(watch: Recorder, id: string): string | undefined {
  let last = -1;
  for (const event of watch.of(id)) {
    if (event.type === 'left') {
      last = -1;
      continue;
    }
    if (event.node.load < last) return `load went from ${last} back to ${event.node.load}`;
    last = event.node.load;
  }
  return undefined;
}

function lefts(events: NodeChangeEvent[]): string[] {
  return events.filter((e) => e.type === 'left').map((e) => `${e.node.id}:${e.type === 'left' && e.reason}`);
}

/** Rules 3, 15 and 17: a late list, a late feed and a feed that cannot start. */
export function resilienceCases(suite: SuiteContext): void {
  describe.concurrent('resilience', () => {
    it('own writes and resync: writes made while a slow re-list is on its way are kept (no false left, no load regression)', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const lost: [string, string][] = [];
      let slow!: SlowListBackend;
      const owner = await scope.open(
        {
          autoHeartbeat: false,
          onOwnNodeLost: (node: NodeInfo, reason: string) => lost.push([node.id, reason]),
        },
        (backend) => {
          slow = new SlowListBackend(backend, LIST_DELAY);
          return slow;
        },
      );
      const watcher = await scope.open();
      const ownWatch = scope.record(owner);
      const watch = scope.record(watcher);
      await owner.register({ id: 'sl-1', load: 0 });
      await watch.joined('sl-1');
      // A node of another instance, untouched during the re-list: the snapshot is the truth for it.
      await watcher.register({ id: 'sl-peer' });
      await ownWatch.joined('sl-peer');
      const lists = slow.lists.started;
      slow.resync();
      await waitFor('core to list again after the feed said resync', () => slow.lists.started > lists);
      // The snapshot is taken; its answer is on its way. Everything written now is newer than it.
      for (let load = 1; load <= 3; load++) await owner.heartbeat('sl-1', load);
      await owner.register({ id: 'sl-2', load: 5 });
      await owner.heartbeat('sl-1', 4);
      expect(
        slow.lists.answered,
        `the writes took longer than the list's ${LIST_DELAY} ms delay: the case could not set up its race`,
      ).toBe(lists);
      await waitFor('the slow list to answer', () => slow.lists.answered > lists);
      // A sentinel through the new feed: whatever the re-list caused has happened before it arrives.
      await owner.register({ id: 'sl-sentinel' });
      await ownWatch.joined('sl-sentinel');
      await watch.joined('sl-sentinel');
      for (const [who, watched] of [
        ['the owner', ownWatch],
        ['a watcher', watch],
      ] as const) {
        expect(
          lefts(watched.events),
          `${who}: a re-list must not remove nodes the store still holds`,
        ).toEqual([]);
        expect(
          loadRegression(watched, 'sl-1'),
          `${who}: a re-list must not move sl-1's load backwards`,
        ).toBeUndefined();
        expect(wellFormedProblem(watched.events), who).toBeUndefined();
      }
      expect(owner.get('sl-1')?.load, 'the owner shows its newest write').toBe(4);
      expect(owner.get('sl-2')?.load, 'the owner shows sl-2, written during the list').toBe(5);
      await waitFor('sl-1 at load 4 at the watcher', () => watcher.get('sl-1')?.load === 4);
      expect(lost, 'onOwnNodeLost must not be called for nodes the store still holds').toEqual([]);
      expect(ownWatch.of('sl-2').map((e) => e.type)).toEqual(['joined']);
      expect(owner.get('sl-peer'), 'the owner still shows sl-peer, which the store holds').toBeDefined();
    });

    it('slow feed: an unregister by another instance is left unregistered at the owner, even when its heartbeat notices first', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const lost: string[] = [];
      const owner = await scope.open(
        { autoHeartbeat: false, onOwnNodeLost: (_node: NodeInfo, reason: string) => lost.push(reason) },
        (backend) => new SlowFeedBackend(backend, FEED_DELAY),
      );
      const other = await scope.open();
      const ownWatch = scope.record(owner);
      await owner.register({ id: 'sf-1' });
      await waitFor('sf-1 at the other instance', () => other.get('sf-1'));
      await ownWatch.joined('sf-1');
      await other.unregister('sf-1');
      // The delete reaches the owner's feed FEED_DELAY later; its heartbeat finds the record gone now.
      await owner.heartbeat('sf-1').catch(() => {});
      const left = await ownWatch.left(
        'sf-1',
        WAIT_LIMIT,
        0,
        'the owner never reported its node gone after another instance deleted it',
      );
      expect(left.event, 'rule 3: the owner’s leave reason for a delete is unregistered').toMatchObject({
        reason: 'unregistered',
      });
      await waitFor('onOwnNodeLost at the owner', () => lost.length > 0);
      expect(lost[0], 'rule 6: onOwnNodeLost reason for a delete').toBe('unregistered');
      // Once the slow feed caught up (a sentinel through it), still no `expired` for sf-1.
      await other.register({ id: 'sf-sentinel' });
      await ownWatch.joined('sf-sentinel');
      expect(ownWatch.summary('sf-1')).not.toContain('left:sf-1:expired');
      expect(wellFormedProblem(ownWatch.events)).toBeUndefined();
    });

    it('backoff: when watch() fails at once but list() works, core lists at most a few times per second', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.open();
      const runs = (['resync', 'throw'] as const).map(async (mode) => {
        let failing!: FailingWatchBackend;
        const instance = await scope.open({}, (backend) => {
          failing = new FailingWatchBackend(backend);
          return failing;
        });
        await instance.register({ id: `bo-${mode}` });
        failing.failWatches(mode);
        const broke = Date.now();
        // A period, not a wait for a condition: the rate of list calls over it is what is measured.
        await sleepUntil(broke + 3_000);
        const lists = failing.listCalls.filter((at) => at >= broke + 1_000 && at < broke + 3_000).length;
        failing.heal();
        // Healed, the instance catches up within its (capped) backoff.
        await writer.register({ id: `bo-after-${mode}` });
        await waitFor(
          `the instance whose watch failed (${mode}) to see bo-after-${mode} once the feed works again`,
          () => instance.get(`bo-after-${mode}`),
          WAIT_LIMIT + 5_000,
        );
        return { mode, lists };
      });
      for (const { mode, lists } of await Promise.all(runs)) {
        expect(
          lists,
          `rule 15: with watch() failing by ${mode === 'resync' ? 'an immediate resync' : 'throwing'}, list() was called ${lists} times in 2 s`,
        ).toBeLessThanOrEqual(MAX_LISTS);
      }
    });
  });
}
