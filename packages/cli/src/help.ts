import type { OptionSpecs } from './argv.js';
import { URL_FORMS } from './backend-url.js';
import type { Command } from './command.js';
import { GLOBAL_OPTIONS } from './global-options.js';
import type { Terminal } from './terminal.js';

function optionRows(specs: OptionSpecs): [string, string][] {
  return Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}${spec.multiple ? ' ...' : ''}`;
    return [flag, spec.description];
  });
}

function columns(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`);
}

/** `roster <command> --help`. */
export function commandHelp(out: Terminal, command: Command): string {
  const lines = [
    `${out.paint('bold', `roster ${command.name}`)} — ${command.summary}`,
    '',
    out.paint('bold', 'Usage'),
    `  ${command.usage}`,
  ];
  if (command.description) lines.push('', ...command.description.split('\n').map((line) => `  ${line}`));
  if (Object.keys(command.options).length > 0)
    lines.push('', out.paint('bold', 'Options'), ...columns(optionRows(command.options)));
  lines.push('', out.paint('bold', 'Global options'), ...columns(optionRows(GLOBAL_OPTIONS)));
  lines.push('', out.paint('bold', 'Examples'), ...command.examples.map((example) => `  $ ${example}`));
  return `${lines.join('\n')}\n`;
}

/** `roster --help`. */
export function mainHelp(out: Terminal, commands: readonly Command[], version: string): string {
  const lines = [
    `${out.paint('bold', 'roster')} ${version} — cluster node discovery from the command line`,
    '',
    out.paint('bold', 'Usage'),
    '  roster <command> [options]',
    '  roster <command> --help     help and examples for one command',
    '',
    out.paint('bold', 'Commands'),
    ...columns(commands.map((command) => [command.name, command.summary])),
    '',
    out.paint('bold', 'Backends'),
    `  --url or ROSTER_URL: ${URL_FORMS}.`,
    '  Each backend is its own package (@roster/memory, @roster/nats, @roster/redis, @roster/etcd):',
    '  install the one you use next to @roster/cli. memory: lives inside one process (try `roster demo`).',
    '',
    out.paint('bold', 'Global options'),
    ...columns(optionRows(GLOBAL_OPTIONS)),
    '',
    out.paint('bold', 'Exit codes'),
    '  0 success · 1 runtime error (unreachable server, unknown node …) · 2 usage error · 130 second Ctrl-C',
    '',
    out.paint('bold', 'Examples'),
    '  $ roster demo',
    '  $ export ROSTER_URL="nats://127.0.0.1:4222?namespace=prod"',
    '  $ roster ls --filter role=api',
    '  $ roster watch --json | jq .type',
    '  $ roster register web-1 --address 10.0.0.7:8080 --meta role=web',
  ];
  return `${lines.join('\n')}\n`;
}
