import { InvalidNodeError, InvalidOptionsError } from './errors.js';
import type { NodeRegistration } from './types/node-registration.js';

/** Largest encoded record, in bytes of UTF-8 JSON. */
export const MAX_RECORD_BYTES = 16 * 1024;
const MAX_ID_LENGTH = 128;
const ID_PATTERN = /^[A-Za-z0-9_\-=.]+$/;
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 140 ? `${value.slice(0, 140)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Why `id` is not a valid node id, or undefined when it is. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `id must be a string, got ${show(id)}`;
  if (id.length < 1 || id.length > MAX_ID_LENGTH)
    return `id must be 1–${MAX_ID_LENGTH} characters, got ${id.length}: ${show(id)}`;
  if (!ID_PATTERN.test(id)) return `id ${show(id)} has a character outside A-Z a-z 0-9 _ - = .`;
  if (id.startsWith('.') || id.endsWith('.') || id.includes('..'))
    return `id ${show(id)} has a dot first, last or doubled`;
  return undefined;
}

/** Throws `InvalidNodeError` unless `id` is a valid node id. Backends call it on every key they write. */
export function assertValidKey(id: unknown): asserts id is string {
  const problem = idProblem(id);
  if (problem) throw new InvalidNodeError(problem);
}

/** Throws `InvalidNodeError` when the encoded record is over 16 KiB. Backends call it on every value they write. */
export function assertValidValueSize(value: Uint8Array, id: string): void {
  if (value.byteLength > MAX_RECORD_BYTES)
    throw new InvalidNodeError(
      `record of ${show(id)} is ${value.byteLength} bytes of JSON; at most ${MAX_RECORD_BYTES} (16 KiB) are allowed`,
    );
}

/** Checks what the application passes to `register()`; throws `InvalidNodeError` naming the value. */
export function assertValidRegistration(node: unknown): asserts node is NodeRegistration {
  if (node === null || typeof node !== 'object' || Array.isArray(node))
    throw new InvalidNodeError(`a registration must be an object with an id, got ${show(node)}`);
  const { id, address, metadata, load } = node as Record<string, unknown>;
  assertValidKey(id);
  if (address !== undefined && (typeof address !== 'string' || address.length === 0))
    throw new InvalidNodeError(`address of ${show(id)} must be a non-empty string, got ${show(address)}`);
  if (metadata !== undefined) assertValidMetadata(metadata, id);
  if (load !== undefined) assertValidLoad(load, id);
}

export function assertValidMetadata(
  metadata: unknown,
  id: string,
): asserts metadata is Record<string, string> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    throw new InvalidNodeError(`metadata of ${show(id)} must be an object of strings, got ${show(metadata)}`);
  const proto = Object.getPrototypeOf(metadata);
  if (proto !== Object.prototype && proto !== null)
    throw new InvalidNodeError(`metadata of ${show(id)} must be a plain object of strings`);
  if (Object.getOwnPropertySymbols(metadata).length > 0)
    throw new InvalidNodeError(`metadata of ${show(id)} has symbol keys; only string keys are allowed`);
  for (const [key, value] of Object.entries(metadata)) {
    if (key.length === 0) throw new InvalidNodeError(`metadata of ${show(id)} has an empty key`);
    if (typeof value !== 'string')
      throw new InvalidNodeError(
        `metadata ${show(key)} of ${show(id)} must be a string, got ${show(value)}; only string values are allowed`,
      );
  }
}

export function assertValidLoad(load: unknown, id: string): asserts load is number {
  if (typeof load !== 'number' || !Number.isFinite(load) || load < 0)
    throw new InvalidNodeError(`load of ${show(id)} must be a finite number >= 0, got ${show(load)}`);
}

/** Namespaces map to bucket, key and stream names on every backend: 1–64 of `A-Z a-z 0-9 _ -`. */
export function assertValidNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace))
    throw new InvalidOptionsError(
      `namespace must be 1–64 characters from A-Z a-z 0-9 _ -, got ${show(namespace)}`,
    );
}
