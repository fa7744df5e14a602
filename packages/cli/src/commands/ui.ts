import { describeTarget } from '../backend-url.js';
import type { Command } from '../command.js';
import { untilInterrupted } from '../interrupted.js';
import { openBrowser } from '../ui/open-browser.js';
import { checkExposure, startDashboard } from '../ui/start-dashboard.js';
import { connectWhenPresent } from '../wait-for-namespace.js';

/** The port `roster ui` listens on unless --port says otherwise (0: any free port). */
export const DEFAULT_UI_PORT = 4780;

export const ui: Command = {
  name: 'ui',
  summary: 'a live dashboard of the namespace in the browser (Ctrl-C to stop)',
  usage: 'roster ui [--port n] [--host addr] [--open] [--ui-token T] [--allow-actions]',
  description:
    'Serves one page from this process: the nodes (id, address, metadata, load, age, last seen),\n' +
    'a metadata filter, the event log with reasons, a node’s history (click a row; backends with\n' +
    'history), and the backend, namespace, ttl and counts. Updates arrive live (Server-Sent Events\n' +
    'from this process’s own watch); during a backend outage the page says "reconnecting", and it\n' +
    'reconnects by itself when this command is restarted. Prints the URL on stdout. Never creates\n' +
    'the namespace: an absent one is waited for (as by roster watch).\n' +
    '\n' +
    'Read-only unless --allow-actions (then each row has an unregister button). Listens on\n' +
    '127.0.0.1 only; a --host other machines can reach needs --ui-token, which every API and\n' +
    'event-stream request must carry: as the header `Authorization: Bearer <T>`, as the query\n' +
    'parameter `?token=<T>`, or in the cookie that opening `/?token=<T>` once sets (a browser’s\n' +
    'event stream cannot send headers). (--token is the NATS auth token, hence --ui-token.)',
  options: {
    port: {
      type: 'string',
      value: 'n',
      description: `port to listen on (default ${DEFAULT_UI_PORT}; 0 picks a free one)`,
    },
    host: {
      type: 'string',
      value: 'addr',
      description: 'address to listen on (default 127.0.0.1; any other needs --ui-token)',
    },
    open: { type: 'boolean', description: 'open the page in the system browser (BROWSER=none: never)' },
    'ui-token': {
      type: 'string',
      value: 'T',
      description: 'secret the page’s requests must carry (8+ characters); env ROSTER_UI_TOKEN',
    },
    'allow-actions': {
      type: 'boolean',
      description: 'let the page unregister nodes (refused with 403 otherwise)',
    },
  },
  examples: [
    'roster ui --url "nats://127.0.0.1:4222?namespace=prod" --open',
    'roster ui --url redis://127.0.0.1:6379 --port 0 --allow-actions',
    'ROSTER_UI_TOKEN="$(openssl rand -hex 16)" roster ui --url etcd://10.0.0.2:2379 --host 0.0.0.0',
  ],
  async run(context) {
    const { args, out, err, env } = context;
    const port = args.number('port', { min: 0, max: 65_535, integer: true }) ?? DEFAULT_UI_PORT;
    const host = args.string('host') ?? '127.0.0.1';
    const token = args.string('ui-token') ?? (env.ROSTER_UI_TOKEN || undefined);
    // Refuse an exposed address without a token before connecting to anything.
    checkExposure(host, token);
    // Looking never creates the namespace nor fixes its ttl (it opens with the namespace's own);
    // an absent one is waited for, as `roster watch` does.
    const discovery = await connectWhenPresent(context);
    // Interrupted while waiting: nothing to show, and Ctrl-C is a normal way to stop.
    if (!discovery) return 0;
    const namespace = context.namespace();
    const ttl = context.ttl();
    const dashboard = await startDashboard({
      discovery,
      backend: describeTarget(context.target()),
      namespace,
      ttl,
      host,
      port,
      ...(token !== undefined ? { token } : {}),
      allowActions: args.flag('allow-actions'),
      now: context.now,
    });
    try {
      if (context.json) out.line(JSON.stringify({ event: 'listening', url: dashboard.url }));
      else out.line(dashboard.url);
      const mode = args.flag('allow-actions') ? 'unregister allowed' : 'read-only';
      err.line(
        err.paint(
          'dim',
          `dashboard of ${describeTarget(context.target())}, namespace ${namespace} (${mode}) — Ctrl-C to stop`,
        ),
      );
      if (token !== undefined)
        err.line(
          `${dashboard.exposed ? `listening on ${host}, reachable from other machines: ` : ''}` +
            'every request needs the token — open the URL once as /?token=<T> (a cookie keeps it), ' +
            'or send Authorization: Bearer <T>',
        );
      if (args.flag('open')) {
        const opening =
          token !== undefined ? `${dashboard.url}?token=${encodeURIComponent(token)}` : dashboard.url;
        const failed = await openBrowser(opening.replace('://0.0.0.0:', '://127.0.0.1:'), env);
        if (failed) err.line(err.paint('dim', `(could not open a browser: ${failed}; open the URL above)`));
      }
      await untilInterrupted(context.interrupt);
    } finally {
      await dashboard.close();
    }
    return 0;
  },
};
