import { describe, it } from 'vitest';
import { InvalidNodeError } from '../../errors.js';
import { encodeRecord } from '../../record-codec.js';
import type { NodeRegistration } from '../../types/node-registration.js';
import { captureLogger, type SuiteContext, waitFor } from '../harness.js';

const big = 'x'.repeat(17 * 1024);

/** Each of these must reject with InvalidNodeError and write nothing (rule 9). */
export const INVALID_REGISTRATIONS: [string, unknown][] = [
  ['empty id', { id: '' }],
  ['id of 129 characters', { id: 'a'.repeat(129) }],
  ['id with a space', { id: 'has space' }],
  ['id with a slash', { id: 'a/b' }],
  ['id with a star', { id: 'a*' }],
  ['id with a non-ASCII letter', { id: 'ümlaut' }],
  ['id starting with a dot', { id: '.lead' }],
  ['id ending with a dot', { id: 'trail.' }],
  ['id with a double dot', { id: 'dou..ble' }],
  ['id that is a number', { id: 42 }],
  ['missing id', {}],
  ['not an object', 'api-1'],
  ['metadata value that is a number', { id: 'm-1', metadata: { zone: 1 } }],
  ['metadata value that is null', { id: 'm-2', metadata: { zone: null } }],
  ['metadata value that is an object', { id: 'm-3', metadata: { zone: { a: 'b' } } }],
  ['metadata that is an array', { id: 'm-4', metadata: ['a'] }],
  ['negative load', { id: 'l-1', load: -1 }],
  ['NaN load', { id: 'l-2', load: Number.NaN }],
  ['infinite load', { id: 'l-3', load: Number.POSITIVE_INFINITY }],
  ['load that is a string', { id: 'l-4', load: '0.5' }],
  ['record over 16 KiB', { id: 'big-1', metadata: { blob: big } }],
];

/**
 * Keys the backend itself must refuse (rule 9): every id rule, and the characters a store gives a
 * meaning (NATS subject wildcards `*` `>`, Redis `:` separators, etcd `/` prefixes) or a byte
 * encoding may mangle.
 */
const INVALID_KEYS = [
  'bad id',
  '',
  '.x',
  'x.',
  'a..b',
  'a/b',
  'x'.repeat(129),
  'a*',
  'a>b',
  'a:b',
  'ümlaut',
  'a\\b',
  'tab\there',
];

/** Rules 9 and 10: bad input and foreign data. */
export function validationCases(suite: SuiteContext): void {
  describe.concurrent('validation', () => {
    it('validation: bad input rejects InvalidNodeError and writes nothing', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const watch = scope.record(b);
      for (const [what, registration] of INVALID_REGISTRATIONS) {
        const attempt = a.register(registration as NodeRegistration);
        await expect(attempt, what).rejects.toBeInstanceOf(InvalidNodeError);
        await expect(attempt, what).rejects.toMatchObject({ code: 'ERR_INVALID_NODE' });
      }
      await a.register({ id: 'ok-1' });
      for (const load of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(a.heartbeat('ok-1', load)).rejects.toBeInstanceOf(InvalidNodeError);
      }
      await expect(a.unregister('bad id')).rejects.toBeInstanceOf(InvalidNodeError);
      await a.register({ id: 'ok-sentinel' });
      await watch.joined('ok-sentinel');
      expect(watch.summary()).toEqual(['joined:ok-1', 'joined:ok-sentinel']);
      const stored = (await (await scope.raw()).list()).entries.map((e) => e.key).sort();
      expect(stored).toEqual(['ok-1', 'ok-sentinel']);
      expect(a.get('ok-1')!.load).toBe(0);
    });

    it('validation: the backend itself refuses invalid keys and oversized values', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const raw = await scope.raw();
      const value = encodeRecord({
        id: 'valid-1',
        metadata: {},
        load: 0,
        instanceId: 'i-1',
        registeredAt: Date.now(),
        lastSeen: Date.now(),
      });
      for (const key of INVALID_KEYS) {
        await expect(raw.put(key, value), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidNodeError);
      }
      const oversized = new TextEncoder().encode(JSON.stringify({ v: 1, id: 'valid-2', blob: big }));
      await expect(raw.put('valid-2', oversized)).rejects.toBeInstanceOf(InvalidNodeError);
      expect(
        (await raw.list()).entries.map((e) => e.key),
        'a refused put must write nothing, not even part of the value',
      ).toEqual([]);
      // delete() checks its key too: a pattern (`*`, `?`) is not a key, and deletes nothing.
      const kept = (await raw.put('valid-keep', value)).ok;
      expect(kept, 'a put of a valid key was refused').toBe(true);
      for (const key of [...INVALID_KEYS, '*', 'valid-*', 'valid-?eep']) {
        await expect(raw.delete(key), `delete(${JSON.stringify(key)})`).rejects.toBeInstanceOf(
          InvalidNodeError,
        );
      }
      expect(
        (await raw.list()).entries.map((e) => e.key),
        'a refused delete must delete nothing',
      ).toEqual(['valid-keep']);
    });

    it('foreign data: values that are not v1 records are skipped and logged, the watcher goes on', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const logger = captureLogger();
      const a = await scope.open({ logger });
      const watch = scope.record(a);
      const raw = await scope.raw();
      const enc = (text: string) => new TextEncoder().encode(text);
      await raw.put('foreign-1', enc('not json at all'));
      await raw.put('foreign-2', enc(JSON.stringify({ v: 2, id: 'foreign-2', future: true })));
      await raw.put('foreign-3', enc(JSON.stringify({ v: 1, id: 'someone-else', metadata: {}, load: 0 })));
      await raw.put('foreign-4', new Uint8Array([0xff, 0xfe, 0x00]));
      await a.register({ id: 'real-1' });
      await watch.joined('real-1');
      expect(watch.summary()).toEqual(['joined:real-1']);
      expect(a.list().map((n) => n.id)).toEqual(['real-1']);
      // Our own register is applied locally at once; the raw puts reach us through the feed.
      for (const key of ['foreign-1', 'foreign-2', 'foreign-3', 'foreign-4'])
        await waitFor(`a warning naming ${key}`, () => logger.warnings.some((w) => w.includes(key)));
      const late = captureLogger();
      const b = await scope.open({ logger: late });
      expect(b.list().map((n) => n.id)).toEqual(['real-1']);
      expect(late.warnings.length).toBeGreaterThanOrEqual(4);
      await a.register({ id: 'real-2' });
      await watch.joined('real-2');
    });
  });
}
