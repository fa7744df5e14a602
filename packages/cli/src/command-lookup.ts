// Finds a command by name; an unknown name is a usage error that suggests the nearest command.

import { UsageError } from './cli-error.js';
import type { Command } from './command.js';
import { COMMANDS, findCommand } from './commands/index.js';

export function requireCommand(name: string): Command {
  const command = findCommand(name);
  if (command) return command;
  const close = COMMANDS.find((c) => editDistance(c.name, name) <= 2);
  throw new UsageError(
    `unknown command "${name}"`,
    close
      ? `did you mean \`roster ${close.name}\`? (roster --help lists the commands)`
      : 'roster --help lists the commands',
  );
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
