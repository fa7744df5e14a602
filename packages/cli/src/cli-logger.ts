// Core's logger for the CLI: what the library says reaches stderr as `roster: <level>: …`,
// quiet unless it matters (warnings, errors; everything with --verbose).

import type { Logger } from '@roster/core';
import type { Progress } from './progress.js';
import type { Terminal } from './terminal.js';

/** The backends' warning that the server keeps nothing across a restart (Redis without AOF or RDB). */
const DURABILITY_WARNING = /no AOF or RDB|restart loses every record/;

/**
 * Core's logger for the CLI: warnings and errors always (on stderr), debug and info with --verbose.
 * While connecting it holds what it is told: on success it prints it, on failure it drops it, so
 * that a failed command still says one line (the error), unless --verbose asks for everything.
 */
export class CliLogger implements Logger {
  private held: (() => void)[] | undefined;
  private muted = false;
  private readonly said = new Set<string>();

  constructor(
    private readonly err: Terminal,
    private readonly verbose: boolean,
    private readonly progress: Progress,
    private readonly writes: boolean,
  ) {}

  debug(message: string, details?: Record<string, unknown>): void {
    if (this.verbose) this.write('debug', 'dim', message, details);
  }
  info(message: string, details?: Record<string, unknown>): void {
    if (this.verbose) this.write('info', 'dim', message, details);
  }
  warn(message: string, details?: Record<string, unknown>): void {
    // A store that loses records on restart matters to a command that stores some, not to `ls`.
    if (!this.writes && DURABILITY_WARNING.test(message)) this.info(message, details);
    else this.write('warn', 'yellow', message, details);
  }
  error(message: string, details?: Record<string, unknown>): void {
    this.write('error', 'red', message, details);
  }

  hold(): void {
    if (!this.verbose) this.held ??= [];
  }

  /** Ends a hold: prints what was held (`flush`) or drops it and everything after (`mute`). */
  release(outcome: 'flush' | 'mute'): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (outcome === 'mute' && !this.verbose) this.muted = true;
    else for (const print of held) print();
  }

  private write(
    level: string,
    style: 'dim' | 'yellow' | 'red',
    message: string,
    details?: Record<string, unknown>,
  ) {
    if (this.muted) return;
    // The demo opens one connection per node: say each warning once, not once per connection.
    if (!this.verbose && this.said.has(message)) return;
    this.said.add(message);
    const print = () => {
      this.progress.stop();
      const extra = details
        ? Object.entries(details)
            .map(
              ([key, value]) =>
                `${key}=${value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value)}`,
            )
            .join(' ')
        : '';
      this.err.line(this.err.paint(style, `roster: ${level}: ${message}${extra ? ` ${extra}` : ''}`));
    };
    if (this.held) this.held.push(print);
    else print();
  }
}
