import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';

/** One option of a command, as `node:util` parseArgs takes it, plus what `--help` shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `k=v`. */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

type Value = string | boolean | (string | boolean)[] | undefined;

/** The parsed command line of one command. */
export class ParsedArgs {
  constructor(
    readonly values: Record<string, Value>,
    readonly positionals: string[],
  ) {}

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    if (Array.isArray(value)) return value.at(-1) as string | undefined;
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  }

  /** A number option within [min, max]; `undefined` when absent. */
  number(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = {}): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (
      text.trim() === '' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    )
      throw new UsageError(
        `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(text)}`,
      );
    return value;
  }

  /** Repeated `key=value` options (`--meta role=api --meta zone=eu`) as a record. */
  pairs(name: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const item of this.strings(name)) {
      const at = item.indexOf('=');
      if (at <= 0) throw new UsageError(`--${name} takes key=value, got ${JSON.stringify(item)}`);
      result[item.slice(0, at)] = item.slice(at + 1);
    }
    return result;
  }

  /** The positional argument at `index`, or a usage error naming what is missing. */
  required(index: number, what: string, usage: string): string {
    const value = this.positionals[index];
    if (value === undefined)
      throw new UsageError(`missing ${what}: ${usage}`, `run \`${usage.split(' <')[0]} --help\``);
    return value;
  }
}

/**
 * Finds the command: the first positional argument, wherever global options put it
 * (`roster --url nats://… ls` and `roster ls --url nats://…` are the same).
 */
export function splitCommand(
  argv: readonly string[],
  globals: OptionSpecs,
): { command?: string; rest: string[] } {
  const { tokens } = parseArgs({
    args: [...argv],
    options: toParseArgs(globals),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === 'positional');
  if (!first) return { rest: [...argv] };
  const rest = [...argv];
  rest.splice(first.index, 1);
  return { command: first.value, rest };
}

/** Parses one command's arguments strictly: an unknown option or a missing value is a usage error. */
export function parseCommandArgs(argv: readonly string[], specs: OptionSpecs, command: string): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: toParseArgs(specs),
      strict: true,
      allowPositionals: true,
    });
    return new ParsedArgs(values as Record<string, Value>, positionals);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(tidyParseError((error as Error).message), `run \`roster ${command} --help\``);
    throw error;
  }
}

// parseArgs messages are long and mention its own API ("To specify an option argument starting
// with a dash use --foo=-XYZ"); keep the first sentence, which names the option.
function tidyParseError(message: string): string {
  const first = message.split('. ')[0] ?? message;
  return first
    .replace(/^Unknown option '(.+)'$/, 'unknown option $1')
    .replace(/^Option '(.+?)'/, 'option $1');
}

function toParseArgs(specs: OptionSpecs) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return options;
}
