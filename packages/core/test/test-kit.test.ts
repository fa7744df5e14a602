import { describe, expect, it } from 'vitest';
import { captureLogger, freshNamespace, open } from '../src/conformance/test-kit.js';
import { assertValidNamespace } from '../src/validation.js';

// The public test kit of `@roster/core/conformance` (re-exported by @roster/test-services).

describe('test kit', () => {
  it('freshNamespace: distinct names of letters, digits and _ only, with the prefix, valid namespaces', () => {
    const names = Array.from({ length: 500 }, () => freshNamespace('kit_'));
    expect(new Set(names).size).toBe(500);
    for (const name of names) {
      expect(name).toMatch(/^kit_[a-z0-9]+$/);
      assertValidNamespace(name);
    }
    expect(freshNamespace()).toMatch(/^t[a-z0-9]+$/);
  });

  it('captureLogger keeps every call in order; warnings are the warn and error messages', () => {
    const logger = captureLogger();
    logger.debug('d');
    logger.info('i', { a: 1 });
    logger.warn('w');
    logger.error('e', { b: 2 });
    expect(logger.entries).toEqual([
      { level: 'debug', message: 'd' },
      { level: 'info', message: 'i', fields: { a: 1 } },
      { level: 'warn', message: 'w' },
      { level: 'error', message: 'e', fields: { b: 2 } },
    ]);
    expect(logger.warnings).toEqual(['w', 'e']);
  });
});

/** Something closable that records how it was closed. */
function closable(closes: ({ unregister?: boolean } | undefined)[]) {
  return async () => ({
    async close(options?: { unregister?: boolean }) {
      closes.push(options);
    },
  });
}

// Sequential: the second case checks what the end of the first one did.
describe.sequential('open() closes what it opened when the test ends', () => {
  const closes: ({ unregister?: boolean } | undefined)[] = [];

  it('opens, and leaves it open during the test', async () => {
    expect(await open(closable(closes))).toBeDefined();
    expect(closes).toEqual([]);
  });

  it('closed it once, without unregistering, when that test ended', () => {
    expect(closes).toEqual([{ unregister: false }]);
  });
});

describe.sequential('open() with the test context’s onTestFinished (concurrent cases)', () => {
  const closes: ({ unregister?: boolean } | undefined)[] = [];

  it('registers the close on the hook it is given, and a failing close is ignored', async ({
    onTestFinished,
  }) => {
    await open(closable(closes), onTestFinished);
    await open(async () => ({ close: () => Promise.reject(new Error('already gone')) }), onTestFinished);
    expect(closes).toEqual([]);
  });

  it('closed it when that test ended', () => {
    expect(closes).toEqual([{ unregister: false }]);
  });
});
