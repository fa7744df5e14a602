interface Waiting<T> {
  resolve: (r: IteratorResult<T>) => void;
  reject: (e: unknown) => void;
}

/**
 * One watcher's queue: events pile up here, never in the producer, so a slow consumer blocks
 * neither heartbeats nor other watchers. Ending it lets the consumer drain what is queued and
 * then completes the iterator (no throw). Several `next()` calls may be pending at once (rule 7
 * of docs/guarantees.md): they are served in the order they were made, and ending the channel
 * settles every one of them.
 */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private waiting: Waiting<T>[] = [];
  private ended = false;
  private failure: unknown;

  constructor(private readonly onEnd: () => void = () => {}) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Events queued and not yet read. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiting = this.waiting.shift();
    if (waiting) {
      waiting.resolve({ value, done: false });
      return;
    }
    this.queue.push(value);
  }

  /** Completes the iterator once the queue is drained. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    this.settleWaiting();
  }

  /** Ends the iterator with an error on the next read (after nothing is queued). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = error;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.head = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  /** Ended: the first pending read gets the failure (if any), every other one completes. */
  private settleWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const read of waiting) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        read.reject(failure);
      } else read.resolve({ value: undefined, done: true });
    }
  }
}
