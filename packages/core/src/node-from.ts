import type { NodeInfo } from './types/node-info.js';
import type { NodeRegistration } from './types/node-registration.js';

/** The record a registration becomes, frozen, with the instance and times given. */
export function nodeFrom(
  registration: NodeRegistration,
  instanceId: string,
  registeredAt: number,
  lastSeen: number,
): NodeInfo {
  return Object.freeze({
    id: registration.id,
    ...(registration.address !== undefined ? { address: registration.address } : {}),
    metadata: Object.freeze({ ...(registration.metadata ?? {}) }),
    load: registration.load ?? 0,
    instanceId,
    registeredAt,
    lastSeen,
  });
}
