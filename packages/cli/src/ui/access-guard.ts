import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The cookie that visiting `/?token=…` sets, so that the page's EventSource (no headers) is let in. */
export const TOKEN_COOKIE = 'roster_ui_token';

/** The header a page must send with an action: a cross-site form or image cannot set it. */
export const ACTION_HEADER = 'x-roster-action';

/** 127.0.0.0/8, ::1 and `localhost`: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
  return false;
}

/** Why a request is refused: 401 (no or wrong token), 403 (forbidden host or origin). */
export interface Refusal {
  readonly status: 401 | 403;
  readonly message: string;
}

/**
 * Who may use the dashboard's API and event stream.
 *
 * - With a token: every API and event-stream request must carry it, as the header
 *   `Authorization: Bearer <token>`, as the `token` query parameter, or in the cookie that
 *   visiting `/?token=<token>` sets (an EventSource cannot send headers).
 * - Bound to loopback: the `Host` header must name a loopback address too, so that a web page
 *   elsewhere cannot reach the dashboard through DNS rebinding.
 * - Actions (POST) must carry {@link ACTION_HEADER} and, when the browser sends an `Origin`, come
 *   from the dashboard's own origin: another site's page cannot trigger them.
 */
export class AccessGuard {
  private readonly token: Buffer | undefined;

  constructor(
    token: string | undefined,
    private readonly loopbackOnly: boolean,
  ) {
    this.token = token === undefined ? undefined : Buffer.from(token);
  }

  get requiresToken(): boolean {
    return this.token !== undefined;
  }

  /** Checks the `Host` header (for every request, static files included). */
  checkHost(request: IncomingMessage): Refusal | undefined {
    if (!this.loopbackOnly) return undefined;
    const host = hostName(request.headers.host ?? '');
    if (host !== undefined && isLoopback(host)) return undefined;
    return { status: 403, message: `host ${JSON.stringify(request.headers.host ?? '')} is not this machine` };
  }

  /** Checks the token of an API or event-stream request. */
  checkToken(request: IncomingMessage, url: URL): Refusal | undefined {
    if (this.token === undefined) return undefined;
    const given = presentedToken(request, url);
    if (given !== undefined && this.matches(given)) return undefined;
    return {
      status: 401,
      message:
        given === undefined
          ? 'this dashboard needs its token: open /?token=<token> once, or send Authorization: Bearer <token>'
          : 'wrong token',
    };
  }

  /** Checks that an action comes from the dashboard's own page. */
  checkAction(request: IncomingMessage): Refusal | undefined {
    if (request.headers[ACTION_HEADER] === undefined)
      return { status: 403, message: `actions need the ${ACTION_HEADER} header` };
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        return { status: 403, message: 'bad Origin header' };
      }
      if (originHost !== request.headers.host)
        return { status: 403, message: `actions are refused from another origin (${origin})` };
    }
    return undefined;
  }

  /** Whether `candidate` is the token (in constant time). */
  matches(candidate: string): boolean {
    if (this.token === undefined) return true;
    const given = Buffer.from(candidate);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}

function presentedToken(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match) return match[1];
  }
  const query = url.searchParams.get('token');
  if (query !== null) return query;
  return readCookie(request.headers.cookie, TOKEN_COOKIE);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `::1`; undefined when unparseable. */
function hostName(host: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  const plain = /^([^:]+)(?::\d+)?$/.exec(host);
  return plain ? plain[1] : undefined;
}
