// What open() reads from the server's INFO, and the oldest Redis it accepts.
/** What `open()` reads from `INFO server`. */
export interface ServerInfo {
  readonly version: string;
  readonly runId: string | undefined;
}

/** Oldest server this runs on: `XPENDING … IDLE` and `SET … GET` (6.2), effect replication of scripts, ACL users. */
export const MIN_REDIS_VERSION = '6.2.0';

export function parseServerInfo(info: string): ServerInfo {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return { version: fields.get('redis_version') ?? '0.0.0', runId: fields.get('run_id') };
}

/** True when dotted `version` is at least `minimum` (missing parts count as 0). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const have = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const need = minimum.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(have.length, need.length); i++) {
    const a = have[i] ?? 0;
    const b = need[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}
