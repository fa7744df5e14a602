// MurmurHash3 (x86, 32-bit) over UTF-16 code units, two per block: fast, no dependency, and
// deterministic across processes and platforms, which rendezvous hashing needs (every client
// must agree on a key's owner without talking to the others).

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function scramble(k: number): number {
  return Math.imul(rotl(Math.imul(k, C1), 15), C2);
}

function round(h: number, k: number): number {
  return (Math.imul(rotl(h ^ scramble(k), 13), 5) + 0xe6546b64) | 0;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3-32 of a string's UTF-16 code units. */
export function hash32(text: string, seed: number): number {
  let h = seed | 0;
  const length = text.length;
  let i = 0;
  for (; i + 1 < length; i += 2) h = round(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
  if (i < length) h ^= scramble(text.charCodeAt(i));
  return fmix32(h ^ (length * 2));
}

/** Two independent 32-bit lanes of one string: together they make ties practically impossible. */
export type Hash64 = readonly [number, number];

const SEED_A = 0x9e3779b9;
const SEED_B = 0x7f4a7c15;

export function hash64(text: string): Hash64 {
  return [hash32(text, SEED_A), hash32(text, SEED_B)];
}

/**
 * The weight of (key, node): the two lanes of each are mixed as one two-word MurmurHash3 message,
 * then packed into a 53-bit integer so that a plain `>` compares them exactly.
 */
export function pairScore(key: Hash64, node: Hash64): number {
  const high = fmix32(round(round(SEED_A, key[0]), node[0]) ^ 8);
  const low = fmix32(round(round(SEED_B, key[1]), node[1]) ^ 8);
  return high * 2 ** 21 + (low >>> 11);
}
