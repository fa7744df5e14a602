// The list → view path and the heartbeat encoding, restructured for speed (issue 11): one pass
// over the backend's entries, a sorted list kept until the view changes, a record built as text.
// These check that the faster paths say exactly what the plain ones said.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/deadline-queue.js';
import { createDiscovery } from '../src/discovery.js';
import { LocalView } from '../src/local-view.js';
import { decodeRecord, encodeRecord, readRecord } from '../src/record-codec.js';
import type { NodeChangeEvent } from '../src/types/node-change-event.js';
import type { NodeInfo } from '../src/types/node-info.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, node, short } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** What encodeRecord wrote before it built the text itself: JSON.stringify of a fresh object. */
function objectJson(n: Record<string, unknown>): string {
  const record: Record<string, unknown> = { v: 1, id: n.id };
  if (n.address !== undefined) record.address = n.address;
  record.metadata = n.metadata;
  record.load = n.load;
  record.instanceId = n.instanceId;
  record.registeredAt = n.registeredAt;
  record.lastSeen = n.lastSeen;
  return JSON.stringify(record);
}

describe('record codec, fast paths', () => {
  it('encodes the same characters as stringifying the record object, escapes and unicode included', () => {
    const nodes: object[] = [
      node('a'),
      node('b', { address: 'h"o\\st:1', metadata: { 'k"ey': 'v\nal', zone: 'ü€😀', empty: '' } }),
      node('c', { load: 0.1 + 0.2, registeredAt: 1e21, lastSeen: -0 }),
      // From untyped code: fields missing, or numbers JSON cannot hold.
      { id: 'd', metadata: { a: 'b' }, instanceId: 'i', registeredAt: 1, lastSeen: 2 },
      { id: 'e', load: Number.NaN, instanceId: 'i', registeredAt: 1, lastSeen: 2 },
      { id: 'f', address: null, metadata: {}, load: 1, instanceId: 'i', registeredAt: 1 },
    ];
    const text = new TextDecoder();
    for (const n of nodes)
      expect(text.decode(encodeRecord(n as NodeInfo))).toBe(objectJson(n as Record<string, unknown>));
  });

  it('reads a record into a frozen node of exactly the NodeInfo fields, its id the key', () => {
    const read = readRecord(
      'n-1',
      bytes({ v: 1, id: 'n-1', metadata: { z: '1' }, instanceId: 'i', registeredAt: 1, lastSeen: 2, x: 9 }),
    );
    expect(typeof read).not.toBe('string');
    const n = read as NodeInfo;
    expect(Object.keys(n)).toEqual(['id', 'metadata', 'load', 'instanceId', 'registeredAt', 'lastSeen']);
    expect(Object.isFrozen(n)).toBe(true);
    expect(Object.isFrozen(n.metadata)).toBe(true);
    expect(() => {
      (n.metadata as Record<string, string>).z = '2';
    }).toThrow(TypeError);
    const withAddress = readRecord('a', encodeRecord(node('a', { address: 'h:1' }))) as NodeInfo;
    expect(Object.keys(withAddress)).toEqual([
      'id',
      'address',
      'metadata',
      'load',
      'instanceId',
      'registeredAt',
      'lastSeen',
    ]);
    expect(Object.isFrozen(withAddress)).toBe(true);
  });

  it('checks only the own values of metadata: a polluted Object.prototype makes no record foreign', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.pollutedForTest = 1;
    try {
      const read = readRecord('p', encodeRecord(node('p', { metadata: { role: 'api' } })));
      expect(typeof read).not.toBe('string');
    } finally {
      delete proto.pollutedForTest;
    }
  });

  it('still calls broken metadata foreign, and reads null metadata as none', () => {
    const base = { v: 1, id: 'n', instanceId: 'i', registeredAt: 1, lastSeen: 2 };
    expect(readRecord('n', bytes({ ...base, metadata: { a: 'x', b: null } }))).toBe(
      'a metadata value is not a string',
    );
    expect(readRecord('n', bytes({ ...base, metadata: ['x'] }))).toBe('metadata is not an object');
    expect(readRecord('n', bytes({ ...base, metadata: 'x' }))).toBe('metadata is not an object');
    expect(readRecord('n', bytes({ ...base, metadata: null }))).toMatchObject({ metadata: {} });
    expect(readRecord('n', bytes(null))).toBe('not a JSON object');
    expect(readRecord('n', bytes('text'))).toBe('not a JSON object');
    expect(decodeRecord('n', bytes({ ...base, id: 'bad..id' }))).toMatchObject({ ok: false });
  });
});

describe('LocalView, one-pass reconcile', () => {
  it('reads the backend entries through the reader, skips what it cannot read, reports what it listed', () => {
    const events: NodeChangeEvent[] = [];
    const view = new LocalView((e) => events.push(e), 10_000);
    view.applyPut(node('kept'), 5, 0);
    view.applyPut(node('gone'), 6, 0);
    const entries = [
      { key: 'kept', revision: 5, value: encodeRecord(node('kept')) },
      { key: 'foreign', revision: 7, value: new TextEncoder().encode('not json') },
      { key: 'new', revision: 8, age: 200, value: encodeRecord(node('new')) },
    ];
    const listed: [string, number | undefined][] = [];
    const result = view.reconcile(entries, 1_000, {
      node: (entry) => {
        const read = readRecord(entry.key, entry.value);
        return typeof read === 'string' ? undefined : read;
      },
      listed: (id, entry) => listed.push([id, entry.age]),
    });
    // Unchanged at the same revision: not listed again, no event.
    expect(listed).toEqual([['new', 200]]);
    expect(result.dropped).toEqual(['gone']);
    expect(events.map(short).slice(2)).toEqual(['joined:new', 'left:gone:expired']);
    expect(view.entry('foreign')).toBeUndefined();
    // The age, by the server's clock, dates the write.
    expect(view.entry('new')?.receivedAt).toBe(800);
  });

  it('a first sync into an empty view drops nothing and joins every node once', () => {
    const events: NodeChangeEvent[] = [];
    const view = new LocalView((e) => events.push(e), 10_000);
    view.beginList();
    const result = view.reconcile(
      Array.from({ length: 100 }, (_, i) => ({ node: node(`n${i}`), revision: i + 1 })),
      0,
    );
    expect(result).toEqual({ dropped: [], unconfirmed: [] });
    expect(view.size).toBe(100);
    expect(events.filter((e) => e.type === 'joined')).toHaveLength(100);
  });

  it('sorts by id as `<` compares strings (code units), case and punctuation included', () => {
    const view = new LocalView(() => {}, 10_000);
    const ids = ['b', 'B', 'a-1', 'a.1', 'a_1', 'a=1', '10', '9', 'Z', 'z', 'a', 'aa'];
    for (const [i, id] of ids.entries()) view.applyPut(node(id), i + 1, 0);
    const expected = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(view.sortedNodes().map((n) => n.id)).toEqual(expected);
  });

  it('keeps its sorted list until a change, and every change refreshes it', () => {
    const view = new LocalView(() => {}, 10_000);
    view.applyPut(node('b'), 1, 0);
    view.applyPut(node('a'), 2, 0);
    const first = view.sortedNodes();
    expect(first.map((n) => n.id)).toEqual(['a', 'b']);
    expect(view.sortedNodes()).toBe(first);
    view.applyPut(node('c'), 3, 0);
    expect(view.sortedNodes().map((n) => n.id)).toEqual(['a', 'b', 'c']);
    view.applyPut(node('a', { load: 5 }), 4, 0);
    expect(view.sortedNodes()[0]?.load).toBe(5);
    view.applyRenewal(node('a', { load: 5, lastSeen: 9 }), 4, 0);
    expect(view.sortedNodes()[0]?.lastSeen).toBe(9);
    view.applyDelete('b', 5, 'unregistered', 0);
    expect(view.sortedNodes().map((n) => n.id)).toEqual(['a', 'c']);
    view.beginList();
    view.reconcile([{ node: node('d'), revision: 6 }], 0);
    expect(view.sortedNodes().map((n) => n.id)).toEqual(['d']);
  });
});

describe('list() over the kept sorted nodes', () => {
  it('hands out a copy: changing the returned array changes no later list()', async () => {
    const d = await createDiscovery({
      backend: mapBackend({ namespace: freshNamespace('sorted') }),
      ttl: 10_000,
      autoHeartbeat: false,
    });
    try {
      await d.register({ id: 'b', metadata: { role: 'db' } });
      await d.register({ id: 'a', metadata: { role: 'api' } });
      const listed = d.list();
      expect(listed.map((n) => n.id)).toEqual(['a', 'b']);
      listed.pop();
      listed.reverse();
      expect(d.list().map((n) => n.id)).toEqual(['a', 'b']);
      expect(d.list({ metadata: { role: 'db' } }).map((n) => n.id)).toEqual(['b']);
      expect(d.list({ metadata: {} }).map((n) => n.id)).toEqual(['a', 'b']);
      await d.heartbeat('b', 3);
      expect(d.list()[1]?.load).toBe(3);
      await d.unregister('a');
      expect(d.list().map((n) => n.id)).toEqual(['b']);
    } finally {
      await d.close();
    }
  });
});

describe('DeadlineQueue, one slot per key', () => {
  it('a key set again, even to the same deadline, fires once; an earlier reset wins', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const fired: string[][] = [];
    const queue = new DeadlineQueue<string>((keys) => fired.push(keys));
    queue.set('a', Date.now() + 100);
    queue.set('a', Date.now() + 100);
    queue.set('b', Date.now() + 300);
    queue.set('b', Date.now() + 50);
    vi.advanceTimersByTime(60);
    expect(fired).toEqual([['b']]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([['b'], ['a']]);
    expect(queue.size).toBe(0);
  });
});
