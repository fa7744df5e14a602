import type { Options } from 'tsup';

/** The shared tsup options, with `overrides` on top (shallow: an override replaces a default). */
export function rosterTsup(overrides?: Options): Options;
