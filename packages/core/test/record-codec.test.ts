import { describe, expect, it } from 'vitest';
import { InvalidNodeError } from '../src/errors.js';
import { decodeRecord, differsBeyondLastSeen, encodeRecord } from '../src/record-codec.js';
import type { NodeInfo } from '../src/types/node-info.js';

const node: NodeInfo = {
  id: 'api-1',
  address: '10.0.0.5:8080',
  metadata: { role: 'api' },
  load: 0.2,
  instanceId: 'c0ffee',
  registeredAt: 1764000000000,
  lastSeen: 1764000003000,
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('record codec (wire format v1)', () => {
  it('encodes the documented bytes, field order included', () => {
    expect(text(encodeRecord(node))).toBe(
      '{"v":1,"id":"api-1","address":"10.0.0.5:8080","metadata":{"role":"api"},"load":0.2,"instanceId":"c0ffee","registeredAt":1764000000000,"lastSeen":1764000003000}',
    );
  });

  it('leaves out an absent address', () => {
    const { address: _, ...rest } = node;
    expect(text(encodeRecord(rest))).not.toContain('address');
  });

  it('round-trips', () => {
    expect(decodeRecord('api-1', encodeRecord(node))).toEqual({ ok: true, node });
  });

  it('ignores unknown fields and defaults metadata and load', () => {
    const decoded = decodeRecord(
      'n',
      bytes({ v: 1, id: 'n', instanceId: 'i', registeredAt: 1, lastSeen: 2, extra: [1] }),
    );
    expect(decoded).toEqual({
      ok: true,
      node: { id: 'n', metadata: {}, load: 0, instanceId: 'i', registeredAt: 1, lastSeen: 2 },
    });
  });

  it.each([
    ['not JSON', 'nope', 'not UTF-8 JSON'],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe]), 'not UTF-8 JSON'],
    ['an array', [1], 'not a JSON object'],
    ['another wire version', { ...node, v: 2 }, 'wire version 2'],
    ['a missing version', { ...node, v: undefined }, 'wire version'],
    ['an id that differs from the key', { ...node, v: 1, id: 'other' }, 'differs from its key'],
    ['a numeric metadata value', { ...node, v: 1, metadata: { a: 1 } }, 'metadata value'],
    ['a negative load', { ...node, v: 1, load: -1 }, 'load'],
    ['a missing instanceId', { ...node, v: 1, instanceId: undefined }, 'instanceId'],
    ['a string lastSeen', { ...node, v: 1, lastSeen: 'now' }, 'lastSeen'],
  ])('calls %s foreign', (_, value, problem) => {
    const input = value instanceof Uint8Array ? value : bytes(value);
    const decoded = decodeRecord('api-1', input);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.problem).toContain(problem);
  });

  it('refuses to encode a record over 16 KiB', () => {
    expect(() => encodeRecord({ ...node, metadata: { blob: 'x'.repeat(16 * 1024) } })).toThrow(
      InvalidNodeError,
    );
    expect(() => encodeRecord({ ...node, metadata: { blob: 'x'.repeat(16 * 1024) } })).toThrow(/16 KiB/);
  });

  it('tells a heartbeat (only lastSeen moved) from a change', () => {
    expect(differsBeyondLastSeen(node, { ...node, lastSeen: node.lastSeen + 1 })).toBe(false);
    expect(differsBeyondLastSeen(node, { ...node, load: 1 })).toBe(true);
    expect(differsBeyondLastSeen(node, { ...node, metadata: { role: 'db' } })).toBe(true);
    expect(differsBeyondLastSeen(node, { ...node, metadata: { role: 'api', zone: 'z' } })).toBe(true);
    expect(differsBeyondLastSeen(node, { ...node, address: undefined })).toBe(true);
    expect(differsBeyondLastSeen(node, { ...node, instanceId: 'x' })).toBe(true);
  });
});
