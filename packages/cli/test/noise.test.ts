import { type ServiceHandle, startRedis } from '@roster/test-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roster } from './helpers/roster-process.js';

// What the CLI prints besides the answer: only what concerns the command at hand.
describe('roster noise and wording', () => {
  let redis: ServiceHandle;
  let counter = 0;
  const url = () => {
    counter += 1;
    return `redis://${redis.url.replace(/^redis:\/\//, '')}?namespace=noise-${process.pid}-${counter}`;
  };
  const ttl = ['--ttl', '3000'];

  beforeAll(async () => {
    // The test server runs without AOF or RDB: the backend warns that a restart loses records.
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('the Redis durability warning is for commands that store nodes, and ls shows it with --verbose only', async () => {
    const target = url();
    const write = await roster(['migrate', '--from', target, '--to', 'memory:', ...ttl]);
    expect(write.code, write.stderr).toBe(0);
    expect(write.stderr).toMatch(/no AOF or RDB/);

    const read = await roster(['ls', '--url', target, ...ttl]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stderr).not.toMatch(/AOF|RDB/);

    const verbose = await roster(['ls', '--verbose', '--url', target, ...ttl]);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toMatch(/no AOF or RDB/);
  });

  it('migrate says what it copied in words, once', async () => {
    const copy = await roster(['migrate', '--from', 'memory:', '--to', 'memory:']);
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stdout.trim()).toBe('copied 0 nodes');
  });
});
