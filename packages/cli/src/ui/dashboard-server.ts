import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidNodeError, type NodeDiscovery, UnsupportedCapabilityError } from '@roster/core';
import { type AccessGuard, type Refusal, TOKEN_COOKIE } from './access-guard.js';
import type { DashboardFeed, FeedMessage } from './dashboard-feed.js';
import { PAGE_CSS } from './page-css.js';
import { PAGE_HTML } from './page-html.js';
import { PAGE_SCRIPT } from './page-script.js';

/** What the server needs besides the feed. */
export interface DashboardServerOptions {
  readonly feed: DashboardFeed;
  readonly discovery: NodeDiscovery;
  readonly guard: AccessGuard;
  /** `--allow-actions`: POST /api/nodes/:id/unregister works (403 otherwise). */
  readonly allowActions: boolean;
  readonly now: () => number;
}

/** Ms between pings on an event stream: the page reconnects when it hears nothing for a while. */
const PING_INTERVAL = 5_000;
/** Bytes an event stream may have queued before the client counts as too slow and is dropped. */
const MAX_BUFFERED = 1 << 20;

// The page is static and loads nothing from elsewhere: a strict policy costs nothing and stops any
// markup that slipped into a value from running script.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The dashboard's HTTP server (node:http, no framework):
 *
 * - `GET /` the page (`/?token=…` sets the token cookie and redirects to `/`), `/app.js`, `/app.css`
 * - `GET /api/snapshot` the view as JSON
 * - `GET /api/events` Server-Sent Events: a `snapshot` first, then `change`, `node`, `status`, `ping`
 * - `GET /api/nodes/:id/history?limit=n` earlier states, where the backend keeps them
 * - `POST /api/nodes/:id/unregister` only with `--allow-actions`
 */
export class DashboardServer {
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly options: DashboardServerOptions) {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, 500, { error: errorMessage(error) });
        else response.end();
      });
    });
  }

  /** Listens; rejects with the listen error (EADDRINUSE, EACCES …). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Ends every event stream and stops listening. */
  async close(): Promise<void> {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
    const { guard } = this.options;
    const refusedHost = guard.checkHost(request);
    if (refusedHost) return refuse(response, refusedHost);
    const path = url.pathname;
    const method = request.method ?? 'GET';

    if (method === 'GET' || method === 'HEAD') {
      if (path === '/' || path === '/index.html') return this.page(request, response, url);
      if (path === '/app.js') return sendText(response, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
      if (path === '/app.css') return sendText(response, 200, 'text/css; charset=utf-8', PAGE_CSS);
      if (path === '/favicon.ico') return sendText(response, 204, 'text/plain', '');
    }
    if (!path.startsWith('/api/')) return send(response, 404, { error: `no such page: ${path}` });

    const refusedToken = guard.checkToken(request, url);
    if (refusedToken) return refuse(response, refusedToken);

    if (method === 'GET' && path === '/api/snapshot')
      return send(response, 200, this.options.feed.snapshot());
    if (method === 'GET' && path === '/api/events') return this.events(response);
    const node = /^\/api\/nodes\/([^/]+)\/(history|unregister)$/.exec(path);
    if (node) {
      let id: string;
      try {
        id = decodeURIComponent(node[1]!);
      } catch {
        return send(response, 400, { error: 'bad node id in the path' });
      }
      if (node[2] === 'history' && method === 'GET') return this.history(response, id, url);
      if (node[2] === 'unregister' && method === 'POST') return this.unregister(request, response, id);
      return send(response, 405, { error: `${method} is not allowed here` });
    }
    return send(response, 404, { error: `no such endpoint: ${path}` });
  }

  private page(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const token = url.searchParams.get('token');
    if (token !== null) {
      if (!this.options.guard.matches(token)) {
        sendText(response, 401, 'text/plain; charset=utf-8', 'wrong token\n');
        return;
      }
      // Into a cookie, then off the address bar (and out of the browser's history).
      response.writeHead(303, {
        ...SECURITY_HEADERS,
        location: '/',
        'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      });
      response.end();
      return;
    }
    sendText(response, 200, 'text/html; charset=utf-8', request.method === 'HEAD' ? '' : PAGE_HTML);
  }

  private events(response: ServerResponse): void {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // A restarted CLI is back within a second or two: ask the browser to retry that soon.
    response.write('retry: 1000\n\n');
    this.streams.add(response);
    const write = (kind: string, data: unknown) => {
      // A page that cannot keep up is dropped rather than buffered without bound; its browser
      // reconnects and starts again from a snapshot.
      if (response.writableLength > MAX_BUFFERED) {
        response.destroy();
        return;
      }
      response.write(`event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // Subscribing and taking the snapshot in one synchronous step: nothing falls between them.
    const unsubscribe = this.options.feed.subscribe((message: FeedMessage) => {
      if (message.kind === 'change') write('change', message.event);
      else if (message.kind === 'node') write('node', message.node);
      else write('status', message.status);
    });
    write('snapshot', this.options.feed.snapshot());
    const ping = setInterval(() => write('ping', { serverNow: this.options.now() }), PING_INTERVAL);
    ping.unref();
    const end = () => {
      clearInterval(ping);
      unsubscribe();
      this.streams.delete(response);
    };
    // The response closes when the page goes away (or the stream is dropped or ended).
    response.on('close', end);
  }

  private async history(response: ServerResponse, id: string, url: URL): Promise<void> {
    const limit = Number(url.searchParams.get('limit') ?? '20');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
      return send(response, 400, { error: 'limit must be an integer from 1 to 1000' });
    try {
      const states = await this.options.discovery.history(id, limit);
      send(response, 200, { states });
    } catch (error) {
      if (UnsupportedCapabilityError.isInstance(error))
        return send(response, 501, {
          error: `the ${this.options.discovery.backendName} backend keeps no history`,
        });
      if (InvalidNodeError.isInstance(error)) return send(response, 400, { error: errorMessage(error) });
      send(response, 502, { error: errorMessage(error) });
    }
  }

  private async unregister(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
    if (!this.options.allowActions)
      return send(response, 403, {
        error:
          'this dashboard is read-only: start roster ui with --allow-actions to unregister from the page',
      });
    const refused = this.options.guard.checkAction(request);
    if (refused) return refuse(response, refused);
    try {
      await this.options.discovery.unregister(id);
      send(response, 200, { unregistered: id });
    } catch (error) {
      send(response, InvalidNodeError.isInstance(error) ? 400 : 502, { error: errorMessage(error) });
    }
  }
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  send(response, refusal.status, { error: refusal.message });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  sendText(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function sendText(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
