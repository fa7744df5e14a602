import { UsageError } from './cli-error.js';

/** The backends the CLI knows, by URL scheme. */
export type BackendKind = 'memory' | 'nats' | 'redis' | 'etcd';

/** A parsed `--url`: which backend, where, and which namespace. */
export interface BackendTarget {
  readonly kind: BackendKind;
  /** The scheme as written (`nats`, `tls`, `redis`, `rediss`, `etcd`, `etcds`, `memory`). */
  readonly scheme: string;
  /** `host:port` pairs, default ports filled in; empty for memory. */
  readonly hosts: readonly string[];
  /** TLS asked for by the scheme (`tls://`, `rediss://`, `etcds://`). */
  readonly tls: boolean;
  readonly username?: string;
  readonly password?: string;
  /** Redis database number from the path (`redis://host:6379/2`). */
  readonly database?: number;
  /** From `?namespace=`; undefined when the URL gives none. */
  readonly namespace?: string;
}

const SCHEMES: Record<string, { kind: BackendKind; tls: boolean; port: number }> = {
  memory: { kind: 'memory', tls: false, port: 0 },
  nats: { kind: 'nats', tls: false, port: 4222 },
  tls: { kind: 'nats', tls: true, port: 4222 },
  redis: { kind: 'redis', tls: false, port: 6379 },
  rediss: { kind: 'redis', tls: true, port: 6379 },
  etcd: { kind: 'etcd', tls: false, port: 2379 },
  etcds: { kind: 'etcd', tls: true, port: 2379 },
};

/** What `--url` accepts, for error hints and help. */
export const URL_FORMS =
  'memory:, nats://host:4222?namespace=x, redis://[user:pass@]host:6379?namespace=x, etcd://host:2379?namespace=x';

const URL_PATTERN = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?$/;

/**
 * Parses a backend URL. Several hosts may be given comma-separated
 * (`nats://a:4222,b:4222`, `etcd://e1:2379,e2:2379`); credentials in the userinfo part are
 * percent-decoded. Throws `UsageError` (exit code 2) for anything it cannot use.
 *
 * @example
 * ```ts
 * parseBackendUrl('redis://:secret@127.0.0.1:6379/0?namespace=prod');
 * // { kind: 'redis', hosts: ['127.0.0.1:6379'], password: 'secret', database: 0, namespace: 'prod', … }
 * ```
 */
export function parseBackendUrl(url: string): BackendTarget {
  const hint = `use one of ${URL_FORMS}`;
  const match = URL_PATTERN.exec(url.trim());
  if (!match) throw new UsageError(`not a backend URL: ${JSON.stringify(url)}`, hint);
  const [, rawScheme = '', authority, path = '', query] = match;
  const scheme = rawScheme.toLowerCase();
  const known = SCHEMES[scheme];
  if (!known)
    throw new UsageError(`unknown backend scheme "${scheme}:" in ${JSON.stringify(redactUrl(url))}`, hint);

  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys())
    if (key !== 'namespace')
      throw new UsageError(
        `unknown URL parameter "${key}" in ${JSON.stringify(redactUrl(url))}`,
        'the URL takes ?namespace=name; other settings are flags (see roster --help)',
      );
  const namespace = params.get('namespace') ?? undefined;
  if (namespace === '')
    throw new UsageError('the URL has an empty ?namespace=', 'give a name, e.g. ?namespace=prod');

  if (known.kind === 'memory') {
    if (authority || (path && path !== '/'))
      throw new UsageError(
        `the memory backend takes no host: ${JSON.stringify(url)}`,
        'use memory: or memory:?namespace=x',
      );
    return { kind: 'memory', scheme, hosts: [], tls: false, ...(namespace ? { namespace } : {}) };
  }

  if (authority === undefined || authority === '')
    throw new UsageError(
      `no host in ${JSON.stringify(redactUrl(url))}`,
      `e.g. ${scheme}://127.0.0.1:${known.port}`,
    );
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  const hosts = hostList.split(',').map((host) => normalizeHost(host, known.port, url));

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, url);
    password = colon >= 0 ? decode(userinfo.slice(colon + 1), url) : undefined;
  }

  let database: number | undefined;
  const cleanPath = path.replace(/^\/+|\/+$/g, '');
  if (cleanPath !== '') {
    if (known.kind !== 'redis' || !/^\d+$/.test(cleanPath))
      throw new UsageError(
        `unexpected path "/${cleanPath}" in ${JSON.stringify(redactUrl(url))}`,
        known.kind === 'redis'
          ? 'the path of a redis URL is a database number, e.g. /0'
          : 'the namespace goes in ?namespace=x',
      );
    database = Number(cleanPath);
  }

  return {
    kind: known.kind,
    scheme,
    hosts,
    tls: known.tls,
    ...(username ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(database !== undefined ? { database } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

function normalizeHost(host: string, defaultPort: number, url: string): string {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(host);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match || port < 1 || port > 65535)
    throw new UsageError(
      `bad host "${host}" in ${JSON.stringify(redactUrl(url))}`,
      'hosts are host or host:port, comma-separated',
    );
  return `${match[1]}:${port}`;
}

function decode(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`bad percent-encoding in the credentials of ${JSON.stringify(redactUrl(url))}`);
  }
}

/** The URL with any password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/?#]*)@/, (_, prefix: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon >= 0 ? `${prefix}${userinfo.slice(0, colon)}:***@` : `${prefix}${userinfo}@`;
  });
}

/** A short description of where a target points, for messages (`redis at 127.0.0.1:6379`). */
export function describeTarget(target: BackendTarget): string {
  return target.kind === 'memory'
    ? 'the in-process memory store'
    : `${target.kind} at ${target.hosts.join(',')}`;
}
