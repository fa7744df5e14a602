// Which Redis Cluster member is the master of a key's slot: the one a failover must kill for the
// run's namespace to lose its master (killing another master leaves our data untouched).
import { Redis } from 'ioredis';

/** `CLUSTER SLOTS` rows: [first slot, last slot, [host, port, id], ...replicas]. */
type SlotRow = [number, number, [string, number, ...unknown[]], ...unknown[]];

/**
 * The index in `nodes` of the master serving `key`'s slot, as the first node that answers sees it.
 * Rejects when no node answers or none of `nodes` serves the slot.
 */
export async function slotMaster(
  nodes: readonly { host: string; port: number }[],
  key: string,
): Promise<number> {
  let lastError: unknown;
  for (const node of nodes) {
    const client = new Redis({
      host: node.host,
      port: node.port,
      lazyConnect: true,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // a dead or frozen node: ask the next one
    try {
      await client.connect();
      const slot = Number(await client.cluster('KEYSLOT', key));
      const rows = (await client.cluster('SLOTS')) as unknown as SlotRow[];
      const row = rows.find(([first, last]) => first <= slot && slot <= last);
      const index = row ? nodes.findIndex((n) => n.port === Number(row[2][1])) : -1;
      if (index < 0) throw new Error(`no member of the cluster serves slot ${slot} (key ${key})`);
      return index;
    } catch (error) {
      lastError = error;
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`could not find the master of ${key}: ${(lastError as Error)?.message}`);
}
