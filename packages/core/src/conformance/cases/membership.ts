import { describe, it } from 'vitest';
import { NodeNotRegisteredError } from '../../errors.js';
import { PROPAGATION_BOUND, type SuiteContext, waitFor, wellFormedProblem } from '../harness.js';

/** Rules 1–3: register, heartbeat, unregister. */
export function membershipCases(suite: SuiteContext): void {
  describe.concurrent('register', () => {
    it('register: get and list show the node at once', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const before = Date.now();
      const info = await a.register({
        id: 'api-1',
        address: '10.0.0.5:8080',
        metadata: { role: 'api' },
        load: 0.2,
      });
      expect(info).toMatchObject({
        id: 'api-1',
        address: '10.0.0.5:8080',
        metadata: { role: 'api' },
        load: 0.2,
      });
      expect(info.instanceId).toEqual(expect.any(String));
      expect(info.registeredAt).toBeGreaterThanOrEqual(before - 1);
      expect(a.get('api-1')).toEqual(info);
      expect(a.list().map((n) => n.id)).toEqual(['api-1']);
      const raw = await scope.raw();
      expect((await raw.get('api-1'))?.value).toBeDefined();
    });

    it('register: another instance sees joined within the propagation bound', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const [a, b] = [await scope.open(), await scope.open()];
      const watchB = scope.record(b);
      const watchA = scope.record(a);
      const sent = Date.now();
      await a.register({ id: 'web-1', metadata: { role: 'web' } });
      const atB = await watchB.joined('web-1');
      const atA = await watchA.joined('web-1');
      expect(atB.at - sent).toBeLessThan(PROPAGATION_BOUND);
      expect(atA.at - sent).toBeLessThan(PROPAGATION_BOUND);
      expect(b.get('web-1')?.metadata).toEqual({ role: 'web' });
    });

    it('register: registering an owned id again is an update with the same instanceId', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const [a, b] = [await scope.open(), await scope.open()];
      const watch = scope.record(b);
      const first = await a.register({ id: 'db-1', load: 1 });
      const second = await a.register({ id: 'db-1', load: 2, metadata: { zone: 'z2' } });
      expect(second.instanceId).toBe(first.instanceId);
      expect(second.registeredAt).toBe(first.registeredAt);
      await watch.next(
        'updated db-1',
        (e) => e.type === 'updated' && e.node.id === 'db-1' && e.node.load === 2,
      );
      expect(watch.summary('db-1')).toEqual(['joined:db-1', 'updated:db-1']);
      expect(wellFormedProblem(watch.events)).toBeUndefined();
    });
  });

  describe.concurrent('heartbeat', () => {
    it('heartbeat: a plain heartbeat emits no event but refreshes lastSeen', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const b = await scope.open();
      const watch = scope.record(b);
      const raw = await scope.raw();
      const info = await a.register({ id: 'hb-1' });
      await watch.joined('hb-1');
      const stored = await raw.get('hb-1');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await a.heartbeat('hb-1');
      const before = Date.now();
      await a.heartbeat('hb-1');
      const after = Date.now();
      // Rule 2: lastSeen is exact on the owner — the time of its last heartbeat.
      const lastSeen = a.get('hb-1')!.lastSeen;
      expect(lastSeen, 'the owner shows the lastSeen of its latest heartbeat').toBeGreaterThanOrEqual(before);
      expect(lastSeen, 'the owner shows the lastSeen of its latest heartbeat').toBeLessThanOrEqual(after);
      if (suite.supports().silentHeartbeats) {
        // The store renews the TTL without a write: no new revision, nothing through the feed.
        expect(
          (await raw.get('hb-1'))?.revision,
          'with silentHeartbeats a plain heartbeat must not write the record (the revision moved)',
        ).toBe(stored?.revision);
      } else {
        await waitLastSeen(b, 'hb-1', info.lastSeen);
      }
      // A sentinel written after the heartbeats: the feed is ordered, so once it arrives any
      // event caused by the heartbeats would have arrived before it.
      await a.register({ id: 'hb-sentinel' });
      await watch.joined('hb-sentinel');
      expect(watch.summary('hb-1'), 'a plain heartbeat is no event at other instances').toEqual([
        'joined:hb-1',
      ]);
      if (suite.supports().silentHeartbeats)
        expect(b.get('hb-1')?.lastSeen, 'other instances keep the lastSeen last written').toBe(info.lastSeen);
    });

    it('heartbeat: a load change is an updated event', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const b = await scope.open();
      const watch = scope.record(b);
      await a.register({ id: 'hb-2', load: 0 });
      await a.heartbeat('hb-2', 0.75);
      const seen = await watch.next('updated hb-2', (e) => e.type === 'updated' && e.node.id === 'hb-2');
      expect(seen.event.type === 'updated' && seen.event.previous.load).toBe(0);
      expect(seen.event.node.load).toBe(0.75);
      expect(a.get('hb-2')!.load).toBe(0.75);
    });

    it('heartbeat: an id this instance does not own rejects NodeNotRegisteredError', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const [a, b] = [await scope.open(), await scope.open()];
      await a.register({ id: 'hb-3' });
      await expect(b.heartbeat('hb-3')).rejects.toBeInstanceOf(NodeNotRegisteredError);
      await expect(b.heartbeat('never-registered')).rejects.toMatchObject({ code: 'ERR_NOT_REGISTERED' });
    });
  });

  describe.concurrent('unregister', () => {
    it('unregister: every watcher gets left unregistered', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const [a, b, c] = [await scope.open(), await scope.open(), await scope.open()];
      const watchers = [scope.record(a), scope.record(b), scope.record(c)];
      await a.register({ id: 'un-1' });
      for (const w of watchers)
        await w.joined('un-1', undefined, 0, 'the feed never reported the put of un-1');
      await a.unregister('un-1');
      expect(a.get('un-1')).toBeUndefined();
      for (const w of watchers) {
        const left = await w.left('un-1', undefined, 0, 'the feed never reported the delete of un-1');
        expect(left.event, 'an explicit delete is left unregistered').toMatchObject({
          type: 'left',
          reason: 'unregistered',
        });
      }
      await waitGone(b, 'un-1');
      expect(await (await scope.raw()).get('un-1')).toBeUndefined();
    });

    it('unregister: any instance can unregister any id', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const [a, b] = [await scope.open({ reregister: false }), await scope.open()];
      const watch = scope.record(a);
      await a.register({ id: 'un-2' });
      await waitPresent(b, 'un-2');
      await b.unregister('un-2');
      const left = await watch.left('un-2');
      expect(left.event).toMatchObject({ reason: 'unregistered' });
      expect(b.get('un-2')).toBeUndefined();
    });
  });
}

function waitPresent(d: { get(id: string): unknown }, id: string): Promise<boolean> {
  return waitFor(`${id} in the view`, () => d.get(id) !== undefined);
}

function waitGone(d: { get(id: string): unknown }, id: string): Promise<boolean> {
  return waitFor(`${id} gone from the view`, () => d.get(id) === undefined);
}

function waitLastSeen(d: { get(id: string): { lastSeen: number } | undefined }, id: string, after: number) {
  return waitFor(`a newer lastSeen of ${id}`, () => (d.get(id)?.lastSeen ?? 0) > after);
}
