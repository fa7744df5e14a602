import { BackendAuthError } from '@roster/core';
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { freshNamespace, open, Recorder, waitFor } from './helpers.js';

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
  ...'+info +evalsha +eval +xread +exists +get +set +del +incr +hget +hset +hdel +hgetall +xadd +xdel +xack +xclaim +xpending +xrange +xgroup|create +xinfo|stream +lpush +ltrim +lrange +pexpire'.split(
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

describe('redis: a user limited to one namespace', () => {
  it('registers, is seen joining, heartbeats, expires, unregisters and reads history on its namespace', async () => {
    const redis = admin();
    await redis.acl('LOG', 'RESET');
    const owner = await open({ url: appUrl(), namespace });
    const watcher = await open({ url: appUrl(), namespace });
    // An owner that never heartbeats: its node must expire (the sweep runs as the limited user).
    const silent = await open({ url: appUrl(), namespace }, { autoHeartbeat: false, reregister: false });
    const seen = new Recorder(watcher);

    await owner.register({ id: 'lp-1', load: 0 });
    await waitFor('lp-1 joined at the watcher', () => watcher.get('lp-1'));
    await owner.heartbeat('lp-1');
    await owner.heartbeat('lp-1', 2);
    await waitFor('the load change at the watcher', () => watcher.get('lp-1')?.load === 2);
    await silent.register({ id: 'lp-2' });
    await waitFor('lp-2 expired at the watcher', () =>
      seen.find((e) => e.type === 'left' && e.node.id === 'lp-2' && e.reason === 'expired'),
    );
    expect((await owner.history('lp-1')).map((n) => n.load)).toEqual([2, 0]);
    await owner.unregister('lp-1');
    await waitFor('lp-1 left at the watcher', () => watcher.list().length === 0);
    expect(seen.summary()).toEqual([
      'joined:lp-1',
      'updated:lp-1',
      'joined:lp-2',
      'left:lp-2:expired',
      'left:lp-1:unregistered',
    ]);
    // Nothing the backend needs was refused; only the optional extras the README names.
    const denied = ((await redis.acl('LOG')) as unknown[][]).map((entry) =>
      String(entry[entry.indexOf('object') + 1]),
    );
    expect(denied.filter((c) => !['client|setname', 'client|setinfo', 'config|get'].includes(c))).toEqual([]);
  }, 60_000);

  it('the same user on another namespace is refused: BackendAuthError naming the permission, nothing written', async () => {
    const other = `${namespace}x`;
    const error = await open({ url: appUrl(), namespace: other }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/permission.*NOPERM/);
    expect((error as Error).message).not.toMatch(/is the server running|unavailable/i);
    expect(await admin().keys(`{roster:${other}}:*`)).toEqual([]);
  });

  it('an ACL missing a command the scripts run (XGROUP CREATE) fails open() with BackendAuthError, not an outage', async () => {
    const url = server.url.replace('redis://', `redis://no-xgroup:${APP_PASSWORD}@`);
    const error = await open({ url, namespace: `${namespace}ng` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect((error as Error).message).toMatch(/permission.*can't run this command/);
  });

  it('a wrong password is ERR_BACKEND_AUTH at once, not an outage', async () => {
    const started = Date.now();
    const error = await open({ url: appUrl('not-the-password'), namespace }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/credentials.*WRONGPASS/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
