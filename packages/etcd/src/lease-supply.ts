// Leases granted ahead of time, so a registration does not wait for a grant.
/** Spares kept granted ahead of time: enough for a burst of registrations back to back. */
const SPARES = 4;

/**
 * Hands out fresh leases for new keys, keeping a few granted ahead of time. A lease grant is a
 * raft write of its own, as expensive as the put: granting while a node registers would double the
 * time until other instances see it join — and with a single spare, registrations back to back
 * would outrun its refill. A spare is only used while it has more than half its TTL left, and is
 * renewed when taken and again after the put, so its age never shortens a key's life.
 */
export class LeaseSupply {
  private readonly spares: { id: string; grantedAt: number }[] = [];
  private refilling = 0;
  private closed = false;

  constructor(
    private readonly grant: () => Promise<string>,
    private readonly revoke: (id: string) => void,
    private readonly renew: (id: string) => void,
    private readonly seconds: number,
  ) {}

  /** Keeps a lease granted elsewhere (the probe of `open()`) as a spare. */
  offer(id: string, grantedAt: number): void {
    if (this.closed || this.spares.length >= SPARES) this.revoke(id);
    else this.spares.push({ id, grantedAt });
  }

  /** A lease taken but not used (a create that found the key): a spare again, renewed when taken. */
  giveBack(id: string): void {
    this.offer(id, Date.now());
  }

  /** A lease with at least half its TTL left, and new spares on their way. */
  async take(): Promise<string> {
    let taken: { id: string; grantedAt: number } | undefined;
    while (!taken && this.spares.length > 0) {
      const spare = this.spares.pop()!;
      if (Date.now() - spare.grantedAt < this.seconds * 500) taken = spare;
      else this.revoke(spare.id);
    }
    this.refill();
    if (taken) {
      // Renewed now as well as after the put: a put that queues behind heavy load must not find
      // the spare's remaining half TTL used up before it lands. Not awaited: if it ran out even
      // so, the put fails with "lease not found" (or its renewal after the put answers 0) and
      // the caller takes another lease.
      this.renew(taken.id);
      return taken.id;
    }
    return this.grant();
  }

  /**
   * Drops the spares without revoking them: they hold no key and run out on the server within
   * seconds, and a revoke could keep a call (and the process) waiting on a frozen server.
   */
  close(): void {
    this.closed = true;
    this.spares.length = 0;
  }

  private refill(): void {
    while (!this.closed && this.spares.length + this.refilling < SPARES) {
      this.refilling += 1;
      const grantedAt = Date.now();
      this.grant().then(
        (id) => {
          this.refilling -= 1;
          this.offer(id, grantedAt);
        },
        () => {
          // The next take() grants on demand and reports the failure to its caller.
          this.refilling -= 1;
        },
      );
    }
  }
}
