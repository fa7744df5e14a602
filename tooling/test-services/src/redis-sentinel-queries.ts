// What the sentinels say, asked over plain RESP: the primary each names, whether enough of them
// agree, and a SENTINEL reply as a field map.
import { PROBE_TIMEOUT_MS } from './cluster-handle.js';
import { sameAddress } from './redis-topology.js';
import { type RedisAddress, type RespValue, redisCommand } from './resp.js';

/** `*_reply` of a SENTINEL command as a field map. */
export function fields(reply: RespValue): Map<string, string> {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] as string, flat[i + 1] as string);
  return map;
}

/** The primary each answering sentinel names (a frozen or dead sentinel is skipped). */
export async function primariesNamed(
  sentinels: readonly RedisAddress[],
  name: string,
): Promise<RedisAddress[]> {
  const answers = await Promise.all(
    sentinels.map((sentinel) =>
      redisCommand(sentinel, ['SENTINEL', 'get-master-addr-by-name', name], {
        timeoutMs: PROBE_TIMEOUT_MS,
      }).then(
        (reply) => (Array.isArray(reply) ? { host: String(reply[0]), port: Number(reply[1]) } : undefined),
        () => undefined,
      ),
    ),
  );
  return answers.filter((a): a is RedisAddress => a !== undefined);
}

/** The address most sentinels name, if at least `minimum` agree. */
export function agreed(addresses: RedisAddress[], minimum: number): RedisAddress | undefined {
  for (const candidate of addresses) {
    if (addresses.filter((a) => sameAddress(a, candidate)).length >= minimum) return candidate;
  }
  return undefined;
}
