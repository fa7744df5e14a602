/** Runs the tasks given for one key one after another (register, heartbeat, unregister of one id). */
export class KeyedSerialQueue {
  private readonly queues = new Map<string, { tail: Promise<unknown>; size: number }>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    let result: Promise<T>;
    if (queue) {
      result = queue.tail.then(task, task);
    } else {
      // Nothing queued for this key: start at once, without waiting a turn.
      queue = { tail: Promise.resolve(), size: 0 };
      this.queues.set(key, queue);
      result = task();
    }
    const entry = queue;
    entry.size += 1;
    const settled = () => {
      entry.size -= 1;
      if (entry.size === 0 && this.queues.get(key) === entry) this.queues.delete(key);
    };
    entry.tail = result.then(settled, settled);
    return result;
  }

  /** Resolves when every task queued so far has settled. */
  async drain(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()].map((queue) => queue.tail));
  }
}
