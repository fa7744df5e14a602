import type { Terminal } from './terminal.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line spinner on stderr for work that takes a while (connecting, waiting for an expiry).
 * Only on a terminal: in pipes and CI logs it stays silent so that output remains clean.
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private text = '';
  private frame = 0;
  private shown = false;

  constructor(private readonly err: Terminal) {}

  /** Shows `text` with a spinner (after `delayMs`, so that quick work shows nothing). */
  start(text: string, delayMs = 0): void {
    this.stop();
    if (!this.err.isTTY) return;
    this.text = text;
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => this.render(), 80);
      this.timer.unref();
      this.render();
    }, delayMs);
    this.timer.unref();
  }

  update(text: string): void {
    this.text = text;
  }

  /** Clears the line; call before writing anything else. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.shown) this.err.stream.write('\r\u001b[2K');
    this.shown = false;
  }

  private render(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    this.shown = true;
    this.err.stream.write(`\r\u001b[2K${this.err.paint('cyan', FRAMES[this.frame]!)} ${this.text}`);
  }
}
