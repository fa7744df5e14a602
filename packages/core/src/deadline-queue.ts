/**
 * Keys with deadlines and one timer for the earliest. Setting a key's deadline costs
 * O(log n); a tick touches only the keys that are due, so the cost of a tick does not grow
 * with the number of healthy keys (memory TTLs, the expiry sweeper).
 */
interface Slot<K> {
  readonly key: K;
  readonly at: number;
}

export class DeadlineQueue<K> {
  private heap: Slot<K>[] = [];
  /** Each key's live slot; a slot in the heap that is not its key's live one is stale (skipped). */
  private readonly current = new Map<K, Slot<K>>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;

  /**
   * `onDue` receives the keys whose deadline passed, earliest first; they are removed before the call.
   * The timer does not keep the process alive unless `options.ref` is true.
   */
  constructor(
    private readonly onDue: (keys: K[]) => void,
    private readonly now: () => number = Date.now,
    private readonly options: { readonly ref?: boolean } = {},
  ) {}

  get size(): number {
    return this.current.size;
  }

  deadline(key: K): number | undefined {
    return this.current.get(key)?.at;
  }

  set(key: K, at: number): void {
    if (this.stopped) return;
    // One object in both the map and the heap: the expiry sweeper sets 100,000 of them in a sync.
    const slot: Slot<K> = { key, at };
    this.current.set(key, slot);
    this.push(slot);
    if (this.heap.length > 64 && this.heap.length > 3 * this.current.size) this.rebuild();
    this.arm();
  }

  delete(key: K): void {
    this.current.delete(key);
  }

  clear(): void {
    this.current.clear();
    this.heap = [];
    this.disarm();
  }

  /** Stops the timer for good. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private isLive(slot: Slot<K>): boolean {
    return this.current.get(slot.key) === slot;
  }

  private arm(): void {
    while (this.heap.length > 0 && !this.isLive(this.heap[0]!)) this.pop();
    const first = this.heap[0];
    if (!first) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.timerAt <= first.at) return;
    this.disarm();
    this.timerAt = first.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, first.at - this.now()));
    if (!this.options.ref) this.timer.unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due: K[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const node = this.pop()!;
      if (this.isLive(node)) {
        this.current.delete(node.key);
        due.push(node.key);
      }
    }
    if (due.length > 0) this.onDue(due);
    if (!this.stopped) this.arm();
  }

  private rebuild(): void {
    this.heap = [];
    for (const slot of this.current.values()) this.push(slot);
  }

  private push(node: Slot<K>): void {
    const heap = this.heap;
    heap.push(node);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= node.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = node;
  }

  private pop(): Slot<K> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      let smallestAt = last.at;
      if (l < heap.length && heap[l]!.at < smallestAt) {
        smallest = l;
        smallestAt = heap[l]!.at;
      }
      if (r < heap.length && heap[r]!.at < smallestAt) smallest = r;
      if (smallest === i) break;
      heap[i] = heap[smallest]!;
      i = smallest;
    }
    heap[i] = last;
    return top;
  }
}
