// The run's owner slots: each a fixed set of node ids, held by one owner process after another
// (a respawn is a new generation), and the seeded owner actions and owner faults on them.
import type { Checker } from './checker.js';
import type { Owner } from './owners.js';
import type { Prng } from './prng.js';

const ZONES = ['a', 'b', 'c'];

export interface Slot {
  readonly index: number;
  generation: number;
  owner: Owner | undefined;
  /** Ids this slot's owner was told to hold (registered, not unregistered since). */
  readonly held: Set<string>;
  readonly ids: readonly string[];
}

export interface OwnerSlotsOptions {
  readonly owners: number;
  readonly nodesPerOwner: number;
  readonly ttl: number;
  readonly checker: Checker;
  /** Owner actions draw from it. */
  readonly rng: Prng;
  /** Owner faults draw from it (see runChaos: a replay injects the same faults in the same order). */
  readonly faultRng: Prng;
  /** Starts the owner process `key` (`o<slot>g<generation>`). */
  readonly start: (key: string) => Promise<Owner>;
}

export class OwnerSlots {
  readonly slots: Slot[] = [];

  constructor(private readonly options: OwnerSlotsOptions) {
    for (let i = 0; i < options.owners; i += 1) {
      const ids = Array.from({ length: options.nodesPerOwner }, (_, j) => `n${i}-${j}`);
      this.slots.push({ index: i, generation: -1, owner: undefined, held: new Set(), ids });
    }
  }

  /** Starts the slot's next generation, which registers every id of the slot. */
  async spawn(slot: Slot): Promise<void> {
    slot.generation += 1;
    const key = `o${slot.index}g${slot.generation}`;
    this.options.checker.ownerStarted(key);
    slot.owner = await this.options.start(key);
    slot.held.clear();
    for (const id of slot.ids) this.register(slot, id);
  }

  /** Spawns a new generation in every slot whose owner is dead (or was never started). */
  async respawnDead(): Promise<void> {
    for (const slot of this.slots) if (!slot.owner?.alive) await this.spawn(slot);
  }

  /** One owner action on a live, running owner. */
  act(): void {
    const { rng } = this.options;
    const live = this.live();
    if (live.length === 0) return;
    const slot = rng.pick(live);
    const owner = slot.owner as Owner;
    const id = rng.pick(slot.ids);
    if (!slot.held.has(id)) {
      this.register(slot, id);
      return;
    }
    const roll = rng.next();
    if (roll < 0.45) owner.send({ op: 'load', id, load: rng.int(0, 100) });
    else if (roll < 0.75) this.register(slot, id);
    else {
      slot.held.delete(id);
      owner.send({ op: 'unregister', id });
    }
  }

  /** An owner fault, started now; resolves when it is over, to its description. */
  async fault(): Promise<string> {
    const { checker, faultRng, ttl } = this.options;
    const live = this.live();
    if (live.length === 0) return 'no owner to fault';
    const slot = faultRng.pick(live);
    const owner = slot.owner as Owner;
    const kinds = owner.canPause
      ? ['kill', 'kill+respawn', 'pause short', 'pause long']
      : ['kill', 'kill+respawn'];
    const kind = faultRng.pick(kinds);
    if (kind.startsWith('pause')) {
      const ms = kind === 'pause short' ? Math.round(ttl / 4) : Math.round(ttl * 1.5);
      checker.ownerPaused(owner.key, ms);
      await owner.pause(ms);
      return `${owner.key} paused ${ms} ms`;
    }
    checker.ownerKilled(owner.key);
    await owner.kill();
    if (kind === 'kill+respawn') {
      await this.spawn(slot);
      return `${owner.key} killed, respawned as ${slot.owner?.key}`;
    }
    return `${owner.key} killed`;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.owner?.kill()));
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.owner?.alive && !s.owner.paused);
  }

  private register(slot: Slot, id: string): void {
    const { rng } = this.options;
    slot.held.add(id);
    slot.owner?.send({
      op: 'register',
      id,
      load: rng.int(0, 100),
      metadata: { zone: rng.pick(ZONES), v: String(rng.int(1, 9)) },
    });
  }
}
