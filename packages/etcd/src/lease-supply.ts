/**
 * Hands out fresh leases for new keys, keeping one granted ahead of time. A lease grant is a raft
 * write of its own, as expensive as the put: granting while a node registers would double the
 * time until other instances see it join. A spare is only used while it has more than half its
 * TTL left, and is renewed when taken and again after the put, so its age never shortens a key's life.
 */
export class LeaseSupply {
  private spare: { id: string; grantedAt: number } | undefined;
  private refilling = false;
  private closed = false;

  constructor(
    private readonly grant: () => Promise<string>,
    private readonly revoke: (id: string) => void,
    private readonly renew: (id: string) => void,
    private readonly seconds: number,
  ) {}

  /** Keeps a lease granted elsewhere (the probe of `open()`) as the spare. */
  offer(id: string, grantedAt: number): void {
    if (this.closed || this.spare) this.revoke(id);
    else this.spare = { id, grantedAt };
  }

  /** A lease with at least half its TTL left, and a new spare on its way. */
  async take(): Promise<string> {
    const spare = this.spare;
    this.spare = undefined;
    this.refill();
    if (spare && Date.now() - spare.grantedAt < this.seconds * 500) {
      // Renewed now as well as after the put: a put that queues behind heavy load must not
      // find the spare's remaining half TTL used up before it lands.
      this.renew(spare.id);
      return spare.id;
    }
    return this.grant();
  }

  close(): void {
    this.closed = true;
    if (this.spare) this.revoke(this.spare.id);
    this.spare = undefined;
  }

  private refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    const grantedAt = Date.now();
    this.grant().then(
      (id) => {
        this.refilling = false;
        this.offer(id, grantedAt);
      },
      () => {
        // The next take() grants on demand and reports the failure to its caller.
        this.refilling = false;
      },
    );
  }
}
