import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describeLeastPrivilege, freshNamespace, startNats } from '@roster/test-services';
import { afterAll, expect, onTestFinished } from 'vitest';
import { natsBackend } from '../src/index.js';
import { quoted, readmePermissions } from './fixtures/readme-permissions.js';

// The least-privilege user of the README ("Security"): publish only to its namespace's JetStream
// API subjects and KV subjects, subscribe only to reply inboxes and the stream-leader advisory.
// Everything runs as that user on a real server with the exact permissions the README lists; the
// server's own log is checked for any permission it refused along the way (refused background
// writes do not all fail a call).

const namespace = freshNamespace('lp');

const logDir = mkdtempSync(join(tmpdir(), 'roster-nats-lp-'));
const logFile = join(logDir, 'nats.log');
const readme = readmePermissions(namespace);
const server = await startNats({
  config: `log_file: ${JSON.stringify(logFile)}
authorization {
  users: [
    { user: admin, password: admin-secret },
    { user: roster-app, password: app-secret, permissions: {
        publish: { allow: [${quoted(readme.publish)}] },
        subscribe: { allow: [${quoted(readme.subscribe)}] } } }
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

describeLeastPrivilege({
  title: 'nats: a user limited to one namespace',
  namespace,
  ttl: 1_000,
  backend: (ns, pass = 'app-secret') =>
    natsBackend({ servers: server.url, namespace: ns, user: 'roster-app', pass }),
  refusals: async () => {
    const before = violations().length;
    return async () => expect(violations().slice(before)).toEqual([]);
  },
  elsewhere: {
    title: 'naming the subject, no bucket made',
    message: /Permissions Violation .*KV_roster_/,
    nothingWritten: async (other) => {
      expect(violations().join('\n')).toContain(`KV_roster_${other}`);
      // The admin sees no stream of that namespace.
      const nc = await connect({ servers: server.url, user: 'admin', pass: 'admin-secret' });
      onTestFinished(() => nc.close());
      const jsm = await jetstreamManager(nc);
      await expect(jsm.streams.info(`KV_roster_${other}`)).rejects.toThrow(/stream not found/);
      await expect(jsm.streams.info(`KV_roster-history_${other}`)).rejects.toThrow(/stream not found/);
    },
  },
  wrongPassword: /(rejected|refused) the credentials.*Authorization Violation/,
});
