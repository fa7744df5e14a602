import { describe, expect, it } from 'vitest';
import { keyLayout } from '../src/key-layout.js';
import { unframe } from '../src/record-frame.js';
import { parseServerInfo, versionAtLeast } from '../src/server-info.js';
import { decodeCursor, encodeCursor } from '../src/stream-cursor.js';
import { parseEntry } from '../src/stream-watch.js';

describe('server info', () => {
  it('reads version and run id from INFO server', () => {
    const info = parseServerInfo('# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\n');
    expect(info).toEqual({ version: '7.0.15', runId: 'abc123' });
  });

  it('compares versions part by part', () => {
    expect(versionAtLeast('7.0.15', '6.0.0')).toBe(true);
    expect(versionAtLeast('6.0', '6.0.0')).toBe(true);
    expect(versionAtLeast('5.0.14', '6.0.0')).toBe(false);
    expect(versionAtLeast('10.0.0', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.1.9', '6.2.0')).toBe(false);
  });
});

describe('stream cursor', () => {
  it('round-trips', () => {
    const cursor = { streamId: '1764000000000-3', revision: 42 };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it('rejects anything else', () => {
    for (const text of ['', '12', '0-0', '0-0@', '0-0@-1', 'x@1', '0-0@1@2', '0-0@1.5'])
      expect(decodeCursor(text)).toBeUndefined();
  });
});

describe('stream entries', () => {
  const b = (s: string) => Buffer.from(s);
  it('parses puts and deletes', () => {
    expect(parseEntry([b('t'), b('put'), b('k'), b('a'), b('v'), b('{}'), b('r'), b('7')])).toEqual({
      type: 'put',
      key: 'a',
      value: new Uint8Array(b('{}')),
      revision: 7,
    });
    expect(parseEntry([b('t'), b('del'), b('k'), b('a'), b('r'), b('8'), b('why'), b('expired')])).toEqual({
      type: 'delete',
      key: 'a',
      revision: 8,
      reason: 'expired',
    });
  });

  it('refuses entries Roster did not write', () => {
    expect(parseEntry([b('hello'), b('world')])).toBeUndefined();
    expect(parseEntry([b('t'), b('put'), b('k'), b('a'), b('r'), b('1')])).toBeUndefined();
    expect(parseEntry([b('t'), b('del'), b('k'), b('a'), b('r'), b('x')])).toBeUndefined();
  });
});

describe('key layout', () => {
  it('puts every key of a namespace under one hash tag', () => {
    const keys = keyLayout('prod');
    for (const key of [
      keys.records,
      keys.live,
      keys.sweeper,
      keys.standby,
      keys.changes,
      keys.seq,
      keys.config,
      keys.history('api-1'),
    ])
      expect(key.startsWith('{roster:prod}:')).toBe(true);
  });
});

describe('record frame', () => {
  it('splits the revision off a stored value', () => {
    expect(unframe(Buffer.from('42\n{"v":1}'))).toEqual({
      revision: 42,
      value: new Uint8Array(Buffer.from('{"v":1}')),
    });
  });

  it('hands a value another tool wrote over whole, at revision 0', () => {
    for (const text of ['not json', '{"v":1}\n', '\nx', '12a\nx', ''])
      expect(unframe(Buffer.from(text))).toEqual({ revision: 0, value: new Uint8Array(Buffer.from(text)) });
  });
});
