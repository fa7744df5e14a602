import { describe, expect, it } from 'vitest';
import { translateMessage } from '../src/feed-message.js';
import { hasNativeExpiryEvents, markerTtlFor, supportsLimitMarkers } from '../src/server-version.js';

const prefix = '$KV.roster_ns.';
const headers = (entries: Record<string, string>) => ({ get: (name: string) => entries[name] ?? '' });
const bytes = new TextEncoder().encode('{"v":1}');

// Entries as nats-server writes them (recorded shapes): a put has no KV-Operation header; a client
// delete `KV-Operation: DEL`; a purge `KV-Operation: PURGE` + `Nats-Rollup: sub`; a >= 2.11.2
// limit marker `Nats-Marker-Reason: MaxAge` + `Nats-TTL`, with an empty body.
describe('translateMessage', () => {
  it('a put is a put at the stream sequence', () => {
    expect(translateMessage({ subject: `${prefix}api-1`, seq: 7, data: bytes }, prefix)).toEqual({
      type: 'put',
      key: 'api-1',
      value: bytes,
      revision: 7,
    });
  });

  it('DEL and PURGE written by a client are deletes, reason unregistered', () => {
    for (const op of ['DEL', 'PURGE'])
      expect(
        translateMessage(
          {
            subject: `${prefix}a.b`,
            seq: 9,
            data: new Uint8Array(),
            headers: headers({ 'KV-Operation': op, 'Nats-Rollup': 'sub' }),
          },
          prefix,
        ),
      ).toEqual({ type: 'delete', key: 'a.b', revision: 9, reason: 'unregistered' });
  });

  it('a MaxAge limit marker is a delete, reason expired', () => {
    const marker = {
      subject: `${prefix}api-2`,
      seq: 12,
      data: new Uint8Array(),
      headers: headers({ 'Nats-Marker-Reason': 'MaxAge', 'Nats-TTL': '1s' }),
    };
    expect(translateMessage(marker, prefix)).toEqual({
      type: 'delete',
      key: 'api-2',
      revision: 12,
      reason: 'expired',
    });
  });

  it('markers for other reasons (an operator purge or removal) are unregistered', () => {
    for (const reason of ['Purge', 'Remove'])
      expect(
        translateMessage(
          {
            subject: `${prefix}api-3`,
            seq: 13,
            data: new Uint8Array(),
            headers: headers({ 'Nats-Marker-Reason': reason }),
          },
          prefix,
        ),
      ).toMatchObject({ type: 'delete', reason: 'unregistered' });
  });

  it('keys that are not node ids, and foreign subjects, are skipped', () => {
    for (const subject of [
      `${prefix}has space`,
      `${prefix}a..b`,
      `${prefix}${'x'.repeat(129)}`,
      `${prefix}a/b`,
      '$KV.other.api-1',
    ])
      expect(translateMessage({ subject, seq: 1, data: bytes }, prefix)).toMatchObject({ type: 'skip' });
  });

  it('a headers object that throws is read as no header', () => {
    const broken = {
      get: () => {
        throw new Error('bad');
      },
    };
    expect(
      translateMessage({ subject: `${prefix}x`, seq: 2, data: bytes, headers: broken }, prefix),
    ).toMatchObject({ type: 'put' });
  });
});

describe('supportsLimitMarkers', () => {
  it('is true from 2.11.2 on', () => {
    for (const v of ['2.11.2', '2.11.10', '2.12.0', 'v3.0.0', '2.11.2-RC.1'])
      expect(supportsLimitMarkers(v)).toBe(true);
  });
  it('is false before, and for an unknown version', () => {
    for (const v of ['2.9.10', '2.10.22', '2.11.1', '1.99.99', '', undefined, 'dev'])
      expect(supportsLimitMarkers(v)).toBe(false);
  });
});

describe('expiry mode', () => {
  it('asks for markers on >= 2.11.2 unless turned off, living at least 1 s', () => {
    expect(markerTtlFor('2.11.2', 'auto', 5_000)).toBe(5_000);
    expect(markerTtlFor('2.12.1', undefined, 500)).toBe(1_000);
    expect(markerTtlFor('2.12.1', 'off', 5_000)).toBe(0);
    expect(markerTtlFor('2.9.10', 'auto', 5_000)).toBe(0);
  });
  it('reports native expiry events only when the bucket has markers', () => {
    expect(hasNativeExpiryEvents(5_000, 5_000)).toBe(true);
    expect(hasNativeExpiryEvents(5_000, 0)).toBe(false); // bucket created before, without markers
    expect(hasNativeExpiryEvents(0, 5_000)).toBe(false); // markers turned off or an old server
  });
});
