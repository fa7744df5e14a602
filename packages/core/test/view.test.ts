import { describe, expect, it } from 'vitest';
import { EventChannel } from '../src/event-channel.js';
import { LocalView } from '../src/local-view.js';
import type { NodeChangeEvent } from '../src/types/node-change-event.js';
import { throughFilter, WatchHub } from '../src/watch-hub.js';
import { node } from './support/backends.js';

const short = (e: NodeChangeEvent) => `${e.type}:${e.node.id}${e.type === 'left' ? `:${e.reason}` : ''}`;

function view() {
  const events: NodeChangeEvent[] = [];
  return { events, view: new LocalView((e) => events.push(e), 1_000) };
}

describe('LocalView', () => {
  it('orders by revision: stale and duplicate puts are dropped', () => {
    const { events, view: v } = view();
    expect(v.applyPut(node('a', { load: 1 }), 5, 0)).toBe(true);
    expect(v.applyPut(node('a', { load: 2 }), 4, 0)).toBe(false);
    expect(v.applyPut(node('a', { load: 1 }), 5, 0)).toBe(false);
    expect(v.applyPut(node('a', { load: 3 }), 6, 0)).toBe(true);
    expect(events.map(short)).toEqual(['joined:a', 'updated:a']);
  });

  it('a heartbeat is not an event, a new instance is replaced + joined', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyPut(node('a', { lastSeen: 5 }), 2, 0);
    v.applyPut(node('a', { instanceId: 'i2' }), 3, 10);
    expect(events.map(short)).toEqual(['joined:a', 'left:a:replaced', 'joined:a']);
  });

  it('a replacement after the ttl ran out is an expiry, then a join', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyPut(node('a', { instanceId: 'i2' }), 2, 5_000);
    expect(events.map(short)).toEqual(['joined:a', 'left:a:expired', 'joined:a']);
  });

  it('a put older than a delete never resurrects the node', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyDelete('a', 3, 'unregistered', 0);
    expect(v.applyPut(node('a', { load: 9 }), 2, 0)).toBe(false);
    expect(v.applyPut(node('a', { instanceId: 'i2' }), 4, 0)).toBe(true);
    expect(events.map(short)).toEqual(['joined:a', 'left:a:unregistered', 'joined:a']);
  });

  it('after a local delete without revision, late writes of that instance are stale', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyDelete('a', undefined, 'unregistered', 0);
    expect(v.applyPut(node('a', { lastSeen: 2 }), 2, 0)).toBe(false);
    expect(v.applyPut(node('a', { instanceId: 'i2' }), 3, 0)).toBe(true);
    expect(events.map(short)).toEqual(['joined:a', 'left:a:unregistered', 'joined:a']);
  });

  it('infers the reason of a delete the store did not explain', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyPut(node('b'), 2, 0);
    v.applyDelete('a', 3, undefined, 100);
    v.applyDelete('b', 4, undefined, 1_000);
    expect(events.map(short).slice(2)).toEqual(['left:a:unregistered', 'left:b:expired']);
  });

  it('reconciles with a snapshot: missing nodes expire, new ones join, changed ones update', () => {
    const { events, view: v } = view();
    v.applyPut(node('a'), 1, 0);
    v.applyPut(node('b'), 2, 0);
    v.reconcile(
      [
        { node: node('b', { load: 1 }), revision: 7 },
        { node: node('c'), revision: 8 },
      ],
      0,
    );
    expect(events.map(short).slice(2)).toEqual(['updated:b', 'joined:c', 'left:a:expired']);
  });
});

describe('watch fan-out', () => {
  it('a filtered watcher sees nodes enter and leave the filtered set', () => {
    const filter = { metadata: { role: 'api' } };
    const api = node('a', { metadata: { role: 'api' } });
    const db = node('a', { metadata: { role: 'db' } });
    expect(throughFilter({ type: 'updated', node: db, previous: api }, filter)).toMatchObject({
      type: 'left',
      reason: 'unregistered',
    });
    expect(throughFilter({ type: 'updated', node: api, previous: db }, filter)).toMatchObject({
      type: 'joined',
    });
    expect(throughFilter({ type: 'joined', node: db }, filter)).toBeUndefined();
  });

  it('each watcher has its own queue: an unread one does not hold back another', async () => {
    const hub = new WatchHub();
    const slow = hub.subscribe({}, () => []);
    const fast = hub.subscribe({}, () => []);
    for (let i = 0; i < 1_000; i++) hub.publish({ type: 'joined', node: node(`n${i}`) });
    for (let i = 0; i < 1_000; i++) expect((await fast.next()).value.node.id).toBe(`n${i}`);
    expect(slow.backlog).toBe(1_000);
    hub.endAll();
    expect((await fast.next()).done).toBe(true);
    expect((await slow.next()).value.node.id).toBe('n0');
  });

  it('an ended channel drains what it holds, then completes', async () => {
    const channel = new EventChannel<number>();
    channel.push(1);
    channel.end();
    channel.push(2);
    expect(await channel.next()).toEqual({ value: 1, done: false });
    expect(await channel.next()).toEqual({ value: undefined, done: true });
  });

  it('rule 7: two next() calls pending at once both settle, in order', async () => {
    const channel = new EventChannel<number>();
    const first = channel.next();
    const second = channel.next();
    channel.push(1);
    channel.push(2);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await second).toEqual({ value: 2, done: false });
  });

  it('rule 7: ending the channel completes every pending next()', async () => {
    const channel = new EventChannel<number>();
    const pending = [channel.next(), channel.next(), channel.next()];
    channel.push(1);
    channel.end();
    expect(await Promise.all(pending)).toEqual([
      { value: 1, done: false },
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
  });

  it('rule 7: return() and an aborted signal complete every pending next()', async () => {
    const channel = new EventChannel<number>();
    const pending = [channel.next(), channel.next()];
    await channel.return();
    expect(await Promise.all(pending)).toEqual([
      { value: undefined, done: true },
      { value: undefined, done: true },
    ]);
    const hub = new WatchHub();
    const abort = new AbortController();
    const watched = hub.subscribe({ signal: abort.signal }, () => []);
    const waiting = [watched.next(), watched.next()];
    abort.abort();
    expect((await Promise.all(waiting)).map((r) => r.done)).toEqual([true, true]);
  });
});
