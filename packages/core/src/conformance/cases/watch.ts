import { describe, it } from 'vitest';
import {
  type SuiteContext,
  settlesWithin,
  sleepUntil,
  WAIT_LIMIT,
  waitFor,
  wellFormedProblem,
} from '../harness.js';

/** Rule 7: snapshot, live changes, ordering, abort, close, slow consumers. */
export function watchCases(suite: SuiteContext): void {
  describe.concurrent('watch', () => {
    it('watch: includeExisting yields joined for every current node first', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      await Promise.all(['w-3', 'w-1', 'w-2'].map((id) => a.register({ id })));
      const b = await scope.open();
      // createDiscovery resolves after the first list: a new instance knows the members at once.
      expect(b.list().map((n) => n.id)).toEqual(['w-1', 'w-2', 'w-3']);
      const watch = scope.record(b);
      await waitFor(
        'joined for the 3 nodes listed (list() must return every live key)',
        () => watch.events.length >= 3,
      );
      await a.register({ id: 'w-4' });
      await watch.joined('w-4');
      expect(watch.summary()).toEqual(['joined:w-1', 'joined:w-2', 'joined:w-3', 'joined:w-4']);
    });

    it('watch: includeExisting false yields only live changes', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      await a.register({ id: 'x-1' });
      const watch = scope.record(a, { includeExisting: false });
      await a.register({ id: 'x-2' });
      await watch.joined('x-2');
      expect(watch.summary()).toEqual(['joined:x-2']);
    });

    it('watch: per node, events arrive in order, without duplicates, nothing after left', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const b = await scope.open();
      const watch = scope.record(b);
      for (const id of ['o-1', 'o-2']) await a.register({ id, load: 0 });
      for (let load = 1; load <= 5; load++) await a.heartbeat('o-1', load);
      for (let load = 1; load <= 5; load++) await a.heartbeat('o-2', load * 10);
      await a.unregister('o-1');
      await a.register({ id: 'o-1', load: 9 });
      await a.unregister('o-2');
      await watch.left('o-2');
      await watch.next(
        'joined o-1 again',
        (e) => e.type === 'joined' && e.node.id === 'o-1' && e.node.load === 9,
      );
      // Sentinel: the feed is ordered, anything the changes above caused has arrived before it.
      await a.register({ id: 'o-sentinel' });
      await watch.joined('o-sentinel');
      expect(watch.of('o-1').map((e) => `${e.type}:${e.node.load}`)).toEqual([
        'joined:0',
        'updated:1',
        'updated:2',
        'updated:3',
        'updated:4',
        'updated:5',
        'left:5',
        'joined:9',
      ]);
      expect(watch.of('o-2').map((e) => `${e.type}:${e.node.load}`)).toEqual([
        'joined:0',
        'updated:10',
        'updated:20',
        'updated:30',
        'updated:40',
        'updated:50',
        'left:50',
      ]);
      expect(wellFormedProblem(watch.events)).toBeUndefined();
    });

    it('watch: a filter yields only matching nodes', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const watch = scope.record(a, { filter: { metadata: { role: 'api' } } });
      await a.register({ id: 'f-1', metadata: { role: 'api', zone: 'z1' } });
      await a.register({ id: 'f-2', metadata: { role: 'db' } });
      await a.register({ id: 'f-3', metadata: { role: 'api' } });
      await watch.joined('f-3');
      expect(watch.summary()).toEqual(['joined:f-1', 'joined:f-3']);
      expect(a.list({ metadata: { role: 'api' } }).map((n) => n.id)).toEqual(['f-1', 'f-3']);
      expect(a.list({ metadata: { role: 'api', zone: 'z1' } }).map((n) => n.id)).toEqual(['f-1']);
    });

    it('watch: aborting the signal completes the iterator', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      await a.register({ id: 'ab-1' });
      const controller = new AbortController();
      const iterator = a.watch({ signal: controller.signal })[Symbol.asyncIterator]();
      expect((await iterator.next()).value).toMatchObject({ type: 'joined' });
      const pending = iterator.next();
      controller.abort();
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      const aborted = a.watch({ signal: AbortSignal.abort() })[Symbol.asyncIterator]();
      await expect(aborted.next()).resolves.toMatchObject({ done: true });
    });

    it('watch: close() completes iterators, also one first read after close', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      await a.register({ id: 'cl-1' });
      const reading = a.watch({ includeExisting: false })[Symbol.asyncIterator]();
      const pending = reading.next();
      const unread = a.watch({ includeExisting: false })[Symbol.asyncIterator]();
      await a.close();
      await expect(pending).resolves.toMatchObject({ done: true });
      await expect(unread.next()).resolves.toMatchObject({ done: true });
    });

    it('watch: two next() calls pending at once both settle, and close() completes both', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const iterator = a.watch({ includeExisting: false })[Symbol.asyncIterator]();
      const first = iterator.next();
      const second = iterator.next();
      await a.register({ id: 'it-1' });
      await a.register({ id: 'it-2' });
      const pending = 'a next() pending beside another never settled (the iterator must queue its readers)';
      await settlesWithin(first, WAIT_LIMIT, `the first ${pending}`);
      await settlesWithin(second, WAIT_LIMIT, `the second ${pending}`);
      expect([(await first).value?.node.id, (await second).value?.node.id]).toEqual(['it-1', 'it-2']);
      const third = iterator.next();
      const fourth = iterator.next();
      await a.close();
      const ending = 'a next() pending at close() never completed';
      await settlesWithin(third, WAIT_LIMIT, `the first ${ending}`);
      await settlesWithin(fourth, WAIT_LIMIT, `the second ${ending}`);
      await expect(third).resolves.toEqual({ value: undefined, done: true });
      await expect(fourth).resolves.toEqual({ value: undefined, done: true });
    });

    it('watch: a slow consumer blocks neither heartbeats nor other watchers', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const stuck = b.watch()[Symbol.asyncIterator](); // never read until the end
      const fast = scope.record(b);
      await a.register({ id: 'slow-1' });
      for (let load = 1; load <= 40; load++) await a.heartbeat('slow-1', load);
      await fast.next('the 40th update', (e) => e.type === 'updated' && e.node.load === 40);
      // A period, not a wait for a condition: the node must stay alive for two ttls (several
      // heartbeats) while `stuck` is unread.
      await sleepUntil(Date.now() + suite.ttl * 2);
      expect(b.get('slow-1')).toBeDefined();
      expect(fast.summary('slow-1').filter((s) => s.startsWith('left'))).toEqual([]);
      const drained: string[] = [];
      for (let i = 0; i < 41; i++) {
        const { value } = await stuck.next();
        drained.push(`${value!.type}:${value!.node.load}`);
      }
      expect(drained[0]).toBe('joined:0');
      expect(drained[40]).toBe('updated:40');
      await stuck.return?.();
    });
  });
}
