/** Where the CLI writes: a stream with what it needs to know about the terminal. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
} as const;

export type Style = keyof typeof STYLES;

/**
 * Colour on a terminal only: never in pipes or files, never with NO_COLOR, always with FORCE_COLOR
 * (https://no-color.org, https://force-color.org); `--color` / `--no-color` win over both.
 */
export function colourEnabled(
  stream: OutputStream,
  env: Record<string, string | undefined>,
  flag: boolean | undefined,
): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** A stream plus its colour decision. */
export class Terminal {
  constructor(
    readonly stream: OutputStream,
    readonly colour: boolean,
  ) {}

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  paint(style: Style, text: string): string {
    if (!this.colour || text === '') return text;
    const [open, close] = STYLES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  line(text = ''): void {
    this.stream.write(`${text}\n`);
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** The width a string takes on screen (ANSI colour codes take none). */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}
