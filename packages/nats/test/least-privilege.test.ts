import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BackendAuthError, createDiscovery, type DiscoveryOptions, type NodeDiscovery } from '@roster/core';
import { Recorder, waitFor as until } from '@roster/core/conformance';
import { startNats } from '@roster/test-services';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { natsBackend } from '../src/index.js';

// The least-privilege user of the README ("Security"): publish only to its namespace's JetStream
// API subjects and KV subjects, subscribe only to reply inboxes. Everything runs as that user on a
// real server with the exact permissions the README lists; the server's own log is checked for
// any permission it refused along the way (refused background writes do not all fail a call).

const TTL = 1_000;
const namespace = `lp${Date.now().toString(36)}`;

/** Exactly the publish permissions the README's "Security" section lists, for namespace `ns`. */
function readmePublishAllow(ns: string): string[] {
  const records = `roster_${ns}`;
  const history = `roster-history_${ns}`;
  return [
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.KV_${records}`,
    `$JS.API.STREAM.INFO.KV_${history}`,
    `$JS.API.STREAM.CREATE.KV_${records}`,
    `$JS.API.STREAM.CREATE.KV_${history}`,
    `$JS.API.CONSUMER.CREATE.KV_${records}.>`,
    `$JS.API.CONSUMER.CREATE.KV_${history}.>`,
    `$JS.API.CONSUMER.DELETE.KV_${records}.>`,
    `$JS.API.DIRECT.GET.KV_${records}.>`,
    `$JS.API.STREAM.MSG.GET.KV_${records}`,
    `$JS.FC.KV_${records}.>`,
    `$JS.FC.KV_${history}.>`,
    `$KV.${records}.>`,
    `$KV.${history}.>`,
  ];
}

const logDir = mkdtempSync(join(tmpdir(), 'roster-nats-lp-'));
const logFile = join(logDir, 'nats.log');
const quoted = (subjects: string[]) => subjects.map((s) => JSON.stringify(s)).join(', ');
const server = await startNats({
  config: `log_file: ${JSON.stringify(logFile)}
authorization {
  users: [
    { user: admin, password: admin-secret },
    { user: roster-app, password: app-secret, permissions: {
        publish: { allow: [${quoted(readmePublishAllow(namespace))}] },
        subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
`,
});
afterAll(async () => {
  await server.stop();
  rmSync(logDir, { recursive: true, force: true });
});

/** The subjects the server refused so far (its log has one line per refusal). */
function violations(): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => /Violation/.test(line));
}

async function open(ns: string, options: Partial<DiscoveryOptions> = {}, pass = 'app-secret') {
  const discovery: NodeDiscovery = await createDiscovery({
    backend: natsBackend({ servers: server.url, namespace: ns, user: 'roster-app', pass }),
    ttl: TTL,
    ...options,
  });
  onTestFinished(() => discovery.close({ unregister: false }).catch(() => {}));
  return discovery;
}

describe('nats: a user limited to one namespace', () => {
  it('registers, is seen joining, heartbeats, expires, unregisters and reads history, with no permission refused', async () => {
    const before = violations().length;
    const owner = await open(namespace);
    const watcher = await open(namespace);
    // An owner that never heartbeats: its node must expire (confirmed with a get as this user).
    const silent = await open(namespace, { autoHeartbeat: false, reregister: false });
    const seen = new Recorder(watcher);
    onTestFinished(() => seen.done);

    await owner.register({ id: 'lp-1', load: 0 });
    await seen.joined('lp-1');
    await owner.heartbeat('lp-1');
    await owner.heartbeat('lp-1', 2);
    await until('the load change at the watcher', () => watcher.get('lp-1')?.load === 2);
    await silent.register({ id: 'lp-2' });
    await seen.next(
      'lp-2 expired',
      (e) => e.type === 'left' && e.node.id === 'lp-2' && e.reason === 'expired',
    );
    expect((await owner.history('lp-1')).map((n) => n.load)).toEqual([2, 0]);
    await owner.unregister('lp-1');
    await seen.left('lp-1');
    await Promise.all([owner.close(), watcher.close(), silent.close()]);
    expect(seen.summary()).toEqual([
      'joined:lp-1',
      'updated:lp-1',
      'joined:lp-2',
      'left:lp-2:expired',
      'left:lp-1:unregistered',
    ]);
    expect(violations().slice(before)).toEqual([]);
  }, 60_000);

  it('the same user on another namespace is refused: BackendAuthError naming the subject, no bucket made', async () => {
    const other = `${namespace}x`;
    const error = await open(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/Permissions Violation .*KV_roster_/);
    expect((error as Error).message).not.toMatch(/is the server running|unavailable/i);
    expect(violations().join('\n')).toContain(`KV_roster_${other}`);
    // Nothing was made for it: the admin sees no stream of that namespace.
    const nc = await connect({ servers: server.url, user: 'admin', pass: 'admin-secret' });
    onTestFinished(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await expect(jsm.streams.info(`KV_roster_${other}`)).rejects.toThrow(/stream not found/);
    await expect(jsm.streams.info(`KV_roster-history_${other}`)).rejects.toThrow(/stream not found/);
  });

  it('a wrong password is ERR_BACKEND_AUTH at once, not an outage', async () => {
    const started = Date.now();
    const error = await open(namespace, {}, 'not-the-password').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/(rejected|refused) the credentials.*Authorization Violation/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
