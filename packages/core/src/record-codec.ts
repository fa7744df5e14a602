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
  const bytes = encoder.encode(recordJson(node));
  assertValidValueSize(bytes, node.id);
  return bytes;
}

/**
 * The record's JSON, built as text rather than by stringifying a fresh object: the same
 * characters (field order included) at about two thirds of the cost, and every heartbeat
 * encodes a record. A node from untyped code that lacks a field takes the object path, which
 * leaves the field out as before.
 */
function recordJson(node: NodeInfo): string {
  const { id, address, metadata, load, instanceId, registeredAt, lastSeen } = node;
  if (
    id === undefined ||
    metadata === undefined ||
    load === undefined ||
    instanceId === undefined ||
    registeredAt === undefined ||
    lastSeen === undefined
  ) {
    const record: Record<string, unknown> = { v: WIRE_VERSION, id };
    if (address !== undefined) record.address = address;
    Object.assign(record, { metadata, load, instanceId, registeredAt, lastSeen });
    return JSON.stringify(record);
  }
  let json = `{"v":${WIRE_VERSION},"id":${JSON.stringify(id)}`;
  if (address !== undefined) json += `,"address":${JSON.stringify(address)}`;
  return (
    `${json},"metadata":${JSON.stringify(metadata)},"load":${JSON.stringify(load)}` +
    `,"instanceId":${JSON.stringify(instanceId)},"registeredAt":${JSON.stringify(registeredAt)}` +
    `,"lastSeen":${JSON.stringify(lastSeen)}}`
  );
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
  const node = readRecord(key, bytes);
  return typeof node === 'string' ? { ok: false, problem: node } : { ok: true, node };
}

/**
 * {@link decodeRecord} without the result wrapper: the node, or why the bytes are not one. A
 * sync decodes every record of the namespace through here, so it makes one pass over the parsed
 * object and allocates nothing but the node (the parsed `metadata` is frozen in place, not copied).
 */
export function readRecord(key: string, bytes: Uint8Array): NodeInfo | string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(decoder.decode(bytes));
  } catch {
    return 'not UTF-8 JSON';
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'not a JSON object';
  if (r.v !== WIRE_VERSION) return `wire version ${JSON.stringify(r.v)}, this build reads ${WIRE_VERSION}`;
  if (r.id !== key) return `record id ${JSON.stringify(r.id)} differs from its key`;
  const id = key;
  const badId = idProblem(id);
  if (badId) return badId;
  const address = r.address;
  if (address !== undefined && typeof address !== 'string') return 'address is not a string';
  let metadata = r.metadata;
  if (metadata === undefined || metadata === null) metadata = {};
  else if (typeof metadata !== 'object' || Array.isArray(metadata)) return 'metadata is not an object';
  // Own values only: `for…in` would also see an enumerable property someone added to
  // Object.prototype, and call every record foreign.
  for (const value of Object.values(metadata as Record<string, unknown>))
    if (typeof value !== 'string') return 'a metadata value is not a string';
  const load = r.load ?? 0;
  if (!isFiniteNumber(load) || load < 0) return 'load is not a finite number >= 0';
  const { instanceId, registeredAt, lastSeen } = r;
  if (typeof instanceId !== 'string' || instanceId.length === 0) return 'instanceId is missing';
  if (!isFiniteNumber(registeredAt) || !isFiniteNumber(lastSeen))
    return 'registeredAt or lastSeen is not a number';
  const frozen = Object.freeze(metadata as Record<string, string>);
  // One literal per shape (with or without address) rather than adding a property later.
  return Object.freeze(
    address === undefined
      ? { id, metadata: frozen, load, instanceId, registeredAt, lastSeen }
      : { id, address, metadata: frozen, load, instanceId, registeredAt, lastSeen },
  );
}

/** True when two records differ in anything but `lastSeen` (what makes an `updated` event). */
export function differsBeyondLastSeen(a: NodeInfo, b: NodeInfo): boolean {
  if (a.id !== b.id || a.address !== b.address || a.load !== b.load) return true;
  if (a.instanceId !== b.instanceId || a.registeredAt !== b.registeredAt) return true;
  // An owner's heartbeat carries the metadata object of its previous record over.
  if (a.metadata === b.metadata) return false;
  const ak = Object.keys(a.metadata);
  const bk = Object.keys(b.metadata);
  if (ak.length !== bk.length) return true;
  return ak.some((k) => a.metadata[k] !== b.metadata[k]);
}
