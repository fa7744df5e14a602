import { BackendUnavailableError } from './errors.js';
import { decodeRecord } from './record-codec.js';
import type { DiscoveryBackend } from './spi/discovery-backend.js';

/**
 * Deletes `id` only while it holds this instance's record (rule 3 of docs/guarantees.md): an
 * owner never deletes a newer registration written by another instance. The delete is
 * compare-and-set on the revision last written; when that fails, a read tells why. Gone already:
 * true. Another instance's record (or foreign data): false, nothing deleted, the id is given up.
 * Still ours at another revision (a write whose answer was lost but which landed): try again at
 * that revision.
 */
export async function deleteIfOurs(
  backend: DiscoveryBackend,
  id: string,
  revision: number,
  instanceId: string,
): Promise<boolean> {
  let expected = revision;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await backend.delete(id, { expectedRevision: expected })) return true;
    const current = await backend.get(id);
    if (!current) return true;
    const decoded = decodeRecord(id, current.value);
    if (!decoded.ok || decoded.node.instanceId !== instanceId) return false;
    expected = current.revision;
  }
  throw new BackendUnavailableError(
    `could not unregister "${id}" on the ${backend.name} backend: its revision kept moving under compare-and-set`,
  );
}
