import { BackendAuthError } from '@roster/core';
import { describeLeastPrivilege, startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';
import { freshNamespace, open, TTL } from './helpers.js';

// The least-privilege user of the README ("Security"): its keys are one namespace's, its commands
// the ones the backend sends and the ones its Lua scripts call. Everything runs as that user on a
// real server; the `default` user (the admin) only sets up and inspects.

const ADMIN_PASSWORD = 'admin-secret';
const APP_PASSWORD = 'app-secret';
const namespace = freshNamespace('lp');

/** Exactly the rules the README's "Security" section gives, after `on >password`. */
const README_RULES = [
  `~{roster:${namespace}}:*`,
  'resetchannels',
  '-@all',
  ...'+info +evalsha +eval +xread +exists +get +set +del +incr +hget +hset +hdel +hgetall +xadd +xdel +xack +xclaim +xpending +xrange +xgroup|create +xinfo|stream +lpush +ltrim +lrange +pexpire +time'.split(
    ' ',
  ),
];

const server = await startRedis({
  password: ADMIN_PASSWORD,
  users: [
    { name: 'roster-app', password: APP_PASSWORD, rules: README_RULES },
    // The same ACL on its own namespace, less one command a script needs.
    {
      name: 'no-xgroup',
      password: APP_PASSWORD,
      rules: README_RULES.map((rule) => rule.replace(namespace, `${namespace}ng`)).filter(
        (rule) => rule !== '+xgroup|create',
      ),
    },
  ],
});
afterAll(() => server.stop());

const appUrl = (password = APP_PASSWORD) =>
  server.url.replace('redis://', `redis://roster-app:${encodeURIComponent(password)}@`);

function admin(): Redis {
  const client = new Redis(server.url, { password: ADMIN_PASSWORD });
  onTestFinished(() => client.disconnect());
  return client;
}

describeLeastPrivilege({
  title: 'redis: a user limited to one namespace',
  namespace,
  ttl: TTL,
  backend: (ns, password) => redisBackend({ url: appUrl(password), namespace: ns }),
  // The sweep that confirms the silent node's expiry runs as the limited user too.
  refusals: async () => {
    const redis = admin();
    await redis.acl('LOG', 'RESET');
    return async () => {
      // Nothing the backend needs was refused; only the optional extras the README names.
      const denied = ((await redis.acl('LOG')) as unknown[][]).map((entry) =>
        String(entry[entry.indexOf('object') + 1]),
      );
      expect(denied.filter((c) => !['client|setname', 'client|setinfo', 'config|get'].includes(c))).toEqual(
        [],
      );
    };
  },
  elsewhere: {
    title: 'naming the permission, nothing written',
    message: /permission.*NOPERM/,
    nothingWritten: async (other) => expect(await admin().keys(`{roster:${other}}:*`)).toEqual([]),
  },
  wrongPassword: /credentials.*WRONGPASS/,
  // Redis's own tests wait this long (helpers.ts).
  wait: 15_000,
});

describe('redis: an ACL short of one command', () => {
  it('an ACL missing a command the scripts run (XGROUP CREATE) fails open() with BackendAuthError, not an outage', async () => {
    const url = server.url.replace('redis://', `redis://no-xgroup:${APP_PASSWORD}@`);
    const error = await open({ url, namespace: `${namespace}ng` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect((error as Error).message).toMatch(/permission.*can't run this command/);
  });
});
