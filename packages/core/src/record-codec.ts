import type { NodeInfo } from './types/node-info.js';
import { assertValidValueSize, idProblem } from './validation.js';

/** The wire format version this build writes and reads. */
export const WIRE_VERSION = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a node as the v1 wire record (UTF-8 JSON, the same bytes on every backend).
 * Throws `InvalidNodeError` when the result is over 16 KiB.
 */
export function encodeRecord(node: NodeInfo): Uint8Array {
  const record: Record<string, unknown> = { v: WIRE_VERSION, id: node.id };
  if (node.address !== undefined) record.address = node.address;
  record.metadata = node.metadata;
  record.load = node.load;
  record.instanceId = node.instanceId;
  record.registeredAt = node.registeredAt;
  record.lastSeen = node.lastSeen;
  const bytes = encoder.encode(JSON.stringify(record));
  assertValidValueSize(bytes, node.id);
  return bytes;
}

/** A decoded record, or why the bytes are not one (foreign data: skipped and logged). */
export type DecodeResult = { ok: true; node: NodeInfo } | { ok: false; problem: string };

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Decodes a v1 record stored under `key`. Unknown fields are ignored; another `v`, a broken
 * field, or an id that differs from the key make it foreign.
 */
export function decodeRecord(key: string, bytes: Uint8Array): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return { ok: false, problem: 'not UTF-8 JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { ok: false, problem: 'not a JSON object' };
  const r = parsed as Record<string, unknown>;
  if (r.v !== WIRE_VERSION)
    return { ok: false, problem: `wire version ${JSON.stringify(r.v)}, this build reads ${WIRE_VERSION}` };
  if (r.id !== key) return { ok: false, problem: `record id ${JSON.stringify(r.id)} differs from its key` };
  const badId = idProblem(r.id);
  if (badId) return { ok: false, problem: badId };
  if (r.address !== undefined && typeof r.address !== 'string')
    return { ok: false, problem: 'address is not a string' };
  const metadata = r.metadata ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    return { ok: false, problem: 'metadata is not an object' };
  for (const value of Object.values(metadata)) {
    if (typeof value !== 'string') return { ok: false, problem: 'a metadata value is not a string' };
  }
  const load = r.load ?? 0;
  if (!isFiniteNumber(load) || load < 0) return { ok: false, problem: 'load is not a finite number >= 0' };
  if (typeof r.instanceId !== 'string' || r.instanceId.length === 0)
    return { ok: false, problem: 'instanceId is missing' };
  if (!isFiniteNumber(r.registeredAt) || !isFiniteNumber(r.lastSeen))
    return { ok: false, problem: 'registeredAt or lastSeen is not a number' };
  // `metadata` is a fresh object from JSON.parse: frozen in place, not copied.
  const node: { -readonly [K in keyof NodeInfo]: NodeInfo[K] } = {
    id: r.id,
    metadata: Object.freeze(metadata as Record<string, string>),
    load,
    instanceId: r.instanceId,
    registeredAt: r.registeredAt,
    lastSeen: r.lastSeen,
  };
  if (r.address !== undefined) node.address = r.address as string;
  return { ok: true, node: Object.freeze(node) };
}

/** True when two records differ in anything but `lastSeen` (what makes an `updated` event). */
export function differsBeyondLastSeen(a: NodeInfo, b: NodeInfo): boolean {
  if (a.id !== b.id || a.address !== b.address || a.load !== b.load) return true;
  if (a.instanceId !== b.instanceId || a.registeredAt !== b.registeredAt) return true;
  const ak = Object.keys(a.metadata);
  const bk = Object.keys(b.metadata);
  if (ak.length !== bk.length) return true;
  return ak.some((k) => a.metadata[k] !== b.metadata[k]);
}
