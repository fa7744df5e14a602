// The least-privilege cases every server backend runs against the user its README's "Security"
// section describes: the whole life of a node works as that user on its namespace, the same user
// is refused on another namespace with BackendAuthError and nothing is written there, and a wrong
// password is an auth error at once, not an outage. Each backend's test file keeps only how it
// sets the user up on its server and how it checks the server's side of things.
import {
  BackendAuthError,
  createDiscovery,
  type DiscoveryBackend,
  type DiscoveryOptions,
  type NodeDiscovery,
} from '@roster/core';
import { open, Recorder, waitFor } from '@roster/core/conformance';
import { describe, expect, it, onTestFinished } from 'vitest';

/** What {@link describeLeastPrivilege} needs of one backend and its limited user. */
export interface LeastPrivilegeOptions {
  /** The `describe` title, e.g. `nats: a user limited to one namespace`. */
  readonly title: string;
  /** The namespace the user is allowed to use. */
  readonly namespace: string;
  readonly ttl: number;
  /**
   * A new backend on `namespace` connected as the limited user; with `password`, that password
   * instead of the user's own (the wrong-password case).
   */
  readonly backend: (namespace: string, password?: string) => DiscoveryBackend;
  /**
   * Given when the server records refusals that do not all fail a call (a refused background
   * write): called before the first case starts, it returns a check, run after every instance
   * closed, that nothing the backend needs was refused. The case's title then says so.
   */
  readonly refusals?: () => Promise<() => Promise<void>>;
  /** The other-namespace case. */
  readonly elsewhere: {
    /** What its title promises after "BackendAuthError …", e.g. `naming the permission, nothing written`. */
    readonly title: string;
    /** The backend's words for the refusal in the error's message. */
    readonly message: RegExp;
    /** Checks, as an admin, that nothing of `namespace` was created on the server. */
    readonly nothingWritten: (namespace: string) => Promise<void>;
  };
  /** The backend's words for rejected credentials in the error's message. */
  readonly wrongPassword: RegExp;
  /** The deadline of each wait of the first case. Default: `waitFor`'s of `@roster/core/conformance`. */
  readonly wait?: number;
  /** The deadline of the wait for the silent node's expiry. Default `wait`. */
  readonly expiryWait?: number;
}

/** Registers the least-privilege cases (vitest `describe`/`it`) for one backend's limited user. */
export function describeLeastPrivilege(options: LeastPrivilegeOptions): void {
  const wait = options.wait;
  const start = (
    namespace: string,
    discovery: Partial<Omit<DiscoveryOptions, 'backend'>> = {},
    password?: string,
  ): Promise<NodeDiscovery> =>
    open(() =>
      createDiscovery({ backend: options.backend(namespace, password), ttl: options.ttl, ...discovery }),
    );

  describe(options.title, () => {
    it(`registers, is seen joining, heartbeats, expires, unregisters and reads history on its namespace${options.refusals ? ', with no permission refused' : ''}`, async () => {
      const nothingRefused = await options.refusals?.();
      const owner = await start(options.namespace);
      const watcher = await start(options.namespace);
      // An owner that never heartbeats: its node must expire (confirmed, where the backend needs
      // it, by reads made as this user).
      const silent = await start(options.namespace, { autoHeartbeat: false, reregister: false });
      const seen = new Recorder(watcher);
      onTestFinished(() => {
        seen.stop();
        return seen.done;
      });

      await owner.register({ id: 'lp-1', load: 0 });
      await seen.joined('lp-1', wait);
      await owner.heartbeat('lp-1');
      await owner.heartbeat('lp-1', 2);
      await waitFor('the load change at the watcher', () => watcher.get('lp-1')?.load === 2, wait);
      await silent.register({ id: 'lp-2' });
      await seen.next(
        'lp-2 expired',
        (e) => e.type === 'left' && e.node.id === 'lp-2' && e.reason === 'expired',
        0,
        options.expiryWait ?? wait,
      );
      expect((await owner.history('lp-1')).map((n) => n.load)).toEqual([2, 0]);
      await owner.unregister('lp-1');
      await seen.left('lp-1', wait);
      // Closing is part of the life checked: what close() sends must be allowed too.
      await Promise.all([owner.close(), watcher.close(), silent.close()]);
      expect(seen.summary()).toEqual([
        'joined:lp-1',
        'updated:lp-1',
        'joined:lp-2',
        'left:lp-2:expired',
        'left:lp-1:unregistered',
      ]);
      await nothingRefused?.();
    }, 60_000);

    it(`the same user on another namespace is refused: BackendAuthError ${options.elsewhere.title}`, async () => {
      const other = `${options.namespace}x`;
      const error = await start(other).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendAuthError);
      expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
      expect((error as Error).message).toMatch(options.elsewhere.message);
      expect((error as Error).message).not.toMatch(/is the server running|unavailable/i);
      await options.elsewhere.nothingWritten(other);
    });

    it('a wrong password is ERR_BACKEND_AUTH at once, not an outage', async () => {
      const started = Date.now();
      const error = await start(options.namespace, {}, 'not-the-password').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendAuthError);
      expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
      expect((error as Error).message).toMatch(options.wrongPassword);
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });
}
