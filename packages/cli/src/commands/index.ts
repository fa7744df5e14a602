import type { Command } from '../command.js';
import { bench } from './bench.js';
import { demo } from './demo.js';
import { get } from './get.js';
import { history } from './history.js';
import { ls } from './ls.js';
import { migrate } from './migrate.js';
import { register } from './register.js';
import { ui } from './ui.js';
import { unregister } from './unregister.js';
import { watch } from './watch.js';

/** Every subcommand, in the order `roster --help` lists them. */
export const COMMANDS: readonly Command[] = [
  ls,
  watch,
  get,
  history,
  ui,
  register,
  unregister,
  migrate,
  bench,
  demo,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
