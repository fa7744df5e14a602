import { describe, expect, it } from 'vitest';
import { captureLogger, freshNamespace, open } from '../src/index.js';

describe('test kit', () => {
  it('freshNamespace: distinct names of letters, digits and _ only, with the prefix', () => {
    const names = Array.from({ length: 500 }, () => freshNamespace('kit_'));
    expect(new Set(names).size).toBe(500);
    for (const name of names) expect(name).toMatch(/^kit_[a-z0-9]+$/);
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

// Sequential: the second case checks what the end of the first one did.
describe.sequential('open() closes what it opened when the test ends', () => {
  const closes: ({ unregister?: boolean } | undefined)[] = [];
  let opened: unknown;

  it('opens, and leaves it open during the test', async () => {
    opened = await open(async () => ({
      async close(options?: { unregister?: boolean }) {
        closes.push(options);
      },
    }));
    expect(opened).toBeDefined();
    expect(closes).toEqual([]);
  });

  it('closed it once, without unregistering, when that test ended', () => {
    expect(closes).toEqual([{ unregister: false }]);
  });
});
