import type { OptionSpecs } from './argv.js';
import { CONNECTION_OPTIONS } from './connection-flags.js';

/** Options every command takes. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  url: {
    type: 'string',
    short: 'u',
    value: 'URL',
    description: 'backend: memory:, nats://…, redis://…, etcd://… (env ROSTER_URL; default memory:)',
  },
  namespace: {
    type: 'string',
    short: 'n',
    value: 'name',
    description: 'namespace, overriding the URL’s ?namespace= (default "default")',
  },
  ttl: {
    type: 'string',
    value: 'ms',
    description:
      'node TTL for commands that write; must match what the namespace’s nodes use (env ROSTER_TTL; default 10000). ls, get, watch, history read it from the namespace',
  },
  'connect-timeout': {
    type: 'string',
    value: 'ms',
    description: 'give up reaching the backend after this (default 10000)',
  },
  json: { type: 'boolean', description: 'machine output: one JSON object per line (NDJSON)' },
  color: { type: 'boolean', description: 'force colour' },
  'no-color': {
    type: 'boolean',
    description: 'no colour (also NO_COLOR=1); colour is only used on a terminal',
  },
  verbose: { type: 'boolean', short: 'v', description: 'log what the library does to stderr' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  ...CONNECTION_OPTIONS,
};

/** Options shared by the commands that read a set of nodes. */
export const FILTER_OPTION: OptionSpecs = {
  filter: {
    type: 'string',
    multiple: true,
    value: 'k=v',
    description: 'only nodes whose metadata has k=v (repeat: every pair must match)',
  },
};
