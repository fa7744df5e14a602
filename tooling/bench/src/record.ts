import { encodeRecord, type NodeInfo, type NodeRegistration } from '@roster/core';

/** The registration every measure uses, so that records are the same size on both sides. */
export function registration(id: string, i = 0): NodeRegistration {
  return {
    id,
    address: `10.0.${(i >> 8) & 255}.${i & 255}:8080`,
    metadata: { role: 'api', zone: `eu-${i % 3}` },
  };
}

/** The stored record of `registration(id, i)`, for raw writes of the same bytes. */
export function recordBytes(id: string, i = 0): Uint8Array {
  const now = Date.now();
  const node: NodeInfo = {
    ...registration(id, i),
    metadata: registration(id, i).metadata ?? {},
    load: 0,
    instanceId: globalThis.crypto.randomUUID(),
    registeredAt: now,
    lastSeen: now,
  };
  return encodeRecord(node);
}
