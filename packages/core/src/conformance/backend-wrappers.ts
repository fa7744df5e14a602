// The conformance suite's fault wrappers: each a DelegatingBackend that changes one thing.
import { DelegatingBackend } from '../spi/delegating-backend.js';
import type {
  BackendChange,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
} from '../spi/discovery-backend.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Running watches of a wrapper, so that it can inject a `resync` into each (as a lost connection would). */
class FeedTaps {
  private readonly taps = new Set<(change: BackendChange) => void>();

  tap(
    watch: (onChange: (change: BackendChange) => void) => BackendWatch,
    onChange: (c: BackendChange) => void,
  ) {
    let live = true;
    const deliver = (change: BackendChange) => {
      if (live) onChange(change);
    };
    this.taps.add(deliver);
    const inner = watch(deliver);
    return {
      stop: async () => {
        live = false;
        this.taps.delete(deliver);
        await inner.stop();
      },
    };
  }

  /** Delivers `resync` to every running watch (each stops delivering after it, as the SPI says). */
  resync(reason: string): void {
    for (const deliver of [...this.taps]) {
      this.taps.delete(deliver);
      deliver({ type: 'resync', reason });
    }
  }
}

/**
 * A backend whose `list()` takes its snapshot at once but answers `delayMs` later, as a busy or
 * distant server does; `resync()` makes every running watch report lost continuity, so core lists
 * again. Writes made while that list is on its way are newer than its snapshot: rule 17 of
 * docs/guarantees.md says the view must keep them.
 */
export class SlowListBackend extends DelegatingBackend {
  /** `list()` calls started and answered. */
  readonly lists = { started: 0, answered: 0 };
  private readonly feeds = new FeedTaps();

  constructor(
    inner: DiscoveryBackend,
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  override async list(): Promise<BackendSnapshot> {
    this.lists.started += 1;
    try {
      const snapshot = await this.inner.list();
      await delay(this.delayMs);
      return snapshot;
    } finally {
      this.lists.answered += 1;
    }
  }

  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    return this.feeds.tap((deliver) => this.inner.watch(cursor, deliver), onChange);
  }

  resync(reason = 'the conformance suite forced a resync'): void {
    this.feeds.resync(reason);
  }
}

/**
 * A backend whose change feed delivers each change `delayMs` after the store sent it (order kept),
 * as a lagging subscription does. Rule 3 of docs/guarantees.md: an owner whose heartbeat finds its
 * node deleted before its feed says so still reports `unregistered`, never `expired`.
 */
export class SlowFeedBackend extends DelegatingBackend {
  constructor(
    inner: DiscoveryBackend,
    private readonly delayMs: number,
  ) {
    super(inner);
  }

  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    let stopped = false;
    const pending = new Set<ReturnType<typeof setTimeout>>();
    const inner = this.inner.watch(cursor, (change) => {
      const timer = setTimeout(() => {
        pending.delete(timer);
        if (!stopped) onChange(change);
      }, this.delayMs);
      pending.add(timer);
    });
    return {
      stop: async () => {
        stopped = true;
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        await inner.stop();
      },
    };
  }
}

/**
 * A backend whose `list()` works but whose feed cannot start, as against a server that accepts no
 * more subscriptions (a Redis at `maxclients`). Until `failWatches()` it behaves; after it, every
 * running watch reports `resync` and every new `watch()` fails at once — by delivering `resync`
 * right away (`mode: 'resync'`) or by throwing (`mode: 'throw'`). `heal()` ends the failure.
 * Rule 15 of docs/guarantees.md: core retries with backoff, a few lists per second at most.
 */
export class FailingWatchBackend extends DelegatingBackend {
  /** When each `list()` call started (epoch ms). */
  readonly listCalls: number[] = [];
  private failing: 'resync' | 'throw' | undefined;
  private readonly feeds = new FeedTaps();

  override list(): Promise<BackendSnapshot> {
    this.listCalls.push(Date.now());
    return this.inner.list();
  }

  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    if (this.failing === 'throw') throw new Error('the conformance suite made watch() fail');
    if (this.failing === 'resync') {
      // On the next turn of the event loop, as a server's refusal arrives: a core that lists again at
      // once then spins through I/O turns (and is counted) instead of starving the event loop.
      const timer = setTimeout(
        () => onChange({ type: 'resync', reason: 'the conformance suite made watch() fail' }),
        0,
      );
      return {
        stop: async () => {
          clearTimeout(timer);
        },
      };
    }
    return this.feeds.tap((deliver) => this.inner.watch(cursor, deliver), onChange);
  }

  failWatches(mode: 'resync' | 'throw'): void {
    this.failing = mode;
    this.feeds.resync('the conformance suite broke the feed');
  }

  heal(): void {
    this.failing = undefined;
  }
}
