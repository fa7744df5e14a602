// The build every published package shares: ESM and CommonJS from `src/index.ts`, with types and
// source maps, for the oldest Node the packages support. A package passes only what differs
// (more entries, externals, defines). Plain JavaScript: tsup loads it as it is, no build step.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/** @type {import('tsup').Options} */
const DEFAULTS = {
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
};

/**
 * tsup's CommonJS code splitting turns each ESM chunk into CommonJS in a second pass, and the
 * source maps of that pass name the intermediate file by its absolute path on the build
 * machine: a published map would point at `/home/…/dist/x.cjs`. Each such source becomes the
 * path of the file relative to its map (the file itself, which ships beside it).
 *
 * @param {string} outDir
 */
function relativeMapSources(outDir) {
  for (const file of readdirSync(outDir)) {
    if (!file.endsWith('.map')) continue;
    const path = join(outDir, file);
    const map = JSON.parse(readFileSync(path, 'utf8'));
    if (!Array.isArray(map.sources) || !map.sources.some((/** @type {string} */ s) => isAbsolute(s)))
      continue;
    map.sources = map.sources.map((/** @type {string} */ s) => (isAbsolute(s) ? relative(outDir, s) : s));
    writeFileSync(path, JSON.stringify(map));
  }
}

/**
 * The shared tsup options, with `overrides` on top (shallow: an override replaces a default).
 * With `splitting` (shared chunks for CommonJS too), the maps' sources are made relative.
 *
 * @param {import('tsup').Options} [overrides]
 * @returns {import('tsup').Options}
 */
export function rosterTsup(overrides = {}) {
  const options = { ...DEFAULTS, ...overrides };
  if (!options.splitting || options.onSuccess) return options;
  const outDir = join(process.cwd(), options.outDir ?? 'dist');
  return { ...options, onSuccess: async () => relativeMapSources(outDir) };
}
