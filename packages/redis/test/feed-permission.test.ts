// A Redis user without XREAD: the change feed cannot be read, so core falls back to listing the
// namespace again (with backoff). Views stay right, but that is a misconfiguration: one warning
// per instance says so, instead of an info line per resync.
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { captureLogger, freshNamespace, open, waitFor } from './helpers.js';

const server = await startRedis();
afterAll(() => server.stop());

describe('redis: a user who may not run XREAD', () => {
  it('one warning naming +xread, however many resyncs; the view still follows by listing', async () => {
    const namespace = freshNamespace('noxread');
    const admin = new Redis(server.url);
    onTestFinished(() => admin.disconnect());
    await admin.acl('SETUSER', 'no-xread', 'on', '>pw', `~{roster:${namespace}}:*`, '+@all', '-xread');
    const log = captureLogger();
    const watcher = await open(
      { url: server.url.replace('redis://', 'redis://no-xread:pw@'), namespace },
      { logger: log },
    );
    const owner = await open({ url: server.url, namespace });
    await owner.register({ id: 'seen-by-listing' });
    await waitFor('the watcher lists the node', () => watcher.get('seen-by-listing'));
    await waitFor(
      'three resyncs',
      () => log.entries.filter((e) => e.message.startsWith('resynchronising')).length >= 3,
    );
    const warnings = log.warnings.filter((w) => w.includes('XREAD'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/grant \+xread/);
  }, 30_000);
});
