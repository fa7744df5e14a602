import { runCli } from '../../src/index.js';
import type { ModuleLoader } from '../../src/module-loader.js';

/** A `roster ui` (or `roster demo --ui`) running in this process through runCli. */
export class DashboardRun {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;
  private readonly stop = new AbortController();

  constructor(
    args: readonly string[],
    options: { loadModule?: ModuleLoader; env?: Record<string, string> } = {},
  ) {
    this.exited = runCli(args, {
      stdout: { write: (text: string) => (this.stdout += text) },
      stderr: { write: (text: string) => (this.stderr += text) },
      // Never launch a browser from a test, whatever the flags say.
      env: { ...process.env, NO_COLOR: '1', ROSTER_URL: '', BROWSER: 'none', ...options.env },
      ...(options.loadModule ? { loadModule: options.loadModule } : {}),
      interrupt: this.stop.signal,
    });
  }

  /** The dashboard's URL, once printed (fails with the output so far after `timeoutMs`). */
  async url(timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let exited: number | undefined;
    void this.exited.then((code) => {
      exited = code;
    });
    for (;;) {
      const found = /http:\/\/\S+\//.exec(this.stdout);
      if (found) return found[0].replace('://0.0.0.0:', '://127.0.0.1:');
      if (exited !== undefined || Date.now() > deadline)
        throw new Error(
          `roster ui printed no URL (${exited !== undefined ? `exited ${exited}` : 'timed out'})\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Ctrl-C, and the exit code. */
  async interrupt(): Promise<number> {
    this.stop.abort();
    return this.exited;
  }
}
