// The namespace's config key: created by the first instance, checked by every later one.
import { ConfigMismatchError } from '@roster/core';
import type { Etcd3 } from 'etcd3';
import { absent, callOptions } from './etcd-calls.js';
import type { KeyLayout } from './key-layout.js';

const CONFIG_VERSION = 1;

/** The ttl a stored config holds, or undefined when Roster cannot read it. */
export function parseConfig(value: Buffer | undefined): number | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { v?: unknown; ttl?: unknown };
    return parsed.v === CONFIG_VERSION && typeof parsed.ttl === 'number' ? parsed.ttl : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the namespace's config key, or checks that the existing one was made with the same
 * ttl (one transaction): adopting another ttl silently would expire nodes at a time no instance
 * asked for, so a difference is a `ConfigMismatchError`.
 */
export async function claimNamespace(
  client: Etcd3,
  layout: KeyLayout,
  namespace: string,
  ttl: number,
  deadline: number,
): Promise<void> {
  const config = Buffer.from(JSON.stringify({ v: CONFIG_VERSION, ttl }));
  const response = await client.kv.txn(
    {
      compare: [absent(layout.config)],
      success: [{ request_put: { key: layout.config, value: config } }],
      failure: [{ request_range: { key: layout.config } }],
    },
    callOptions(deadline),
  );
  if (response.succeeded) return;
  const existing = response.responses[0]?.response_range.kvs[0]?.value;
  const found = parseConfig(existing);
  if (found !== ttl)
    throw new ConfigMismatchError(
      `etcd namespace "${namespace}" (key ${layout.config.toString()}) exists with ` +
        (found === undefined
          ? `a config Roster cannot read (${existing?.toString() ?? 'empty'})`
          : `ttl ${found} ms`) +
        `; this instance asked for ttl ${ttl} ms. Use the same ttl, or delete that key when no instance uses the namespace`,
    );
}
