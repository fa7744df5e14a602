/**
 * Runs the sweep script on a short period. Every instance sweeps: the script is idempotent, so
 * the first one to find a record past its deadline deletes it (writing one `expired` change) and
 * the others find nothing. An expiry is thus seen within one period of its deadline as long as
 * any instance of the namespace is alive.
 */
export class ExpirySweep {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private failing = false;

  constructor(
    private readonly periodMs: number,
    private readonly sweep: () => Promise<number>,
    private readonly onFailure: (error: unknown, first: boolean) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.periodMs);
    // Sweeping serves the watchers; it must not keep a process alive on its own.
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.sweep();
      this.failing = false;
    } catch (error) {
      this.onFailure(error, !this.failing);
      this.failing = true;
    } finally {
      this.running = false;
    }
  }
}
