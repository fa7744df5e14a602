// One owner: a discovery instance that registers, updates and unregisters the nodes it is told to,
// and reports every action (intent before the call, outcome after) with its own timestamp. The
// same agent runs in a child process (owner-process.ts) or, for the in-process memory backend, in
// the parent.
import { createDiscovery, type NodeDiscovery } from '@roster/core';

export type OwnerCommand =
  | {
      readonly op: 'register';
      readonly id: string;
      readonly load: number;
      readonly metadata: Record<string, string>;
    }
  | { readonly op: 'load'; readonly id: string; readonly load: number }
  | { readonly op: 'unregister'; readonly id: string }
  | { readonly op: 'state' };

export interface OwnedState {
  readonly id: string;
  readonly instanceId: string;
  readonly load: number;
  readonly metadata: Record<string, string>;
}

/** What an owner tells the checker. `t` is the owner's Date.now() (same machine as the checker). */
export type OwnerReport =
  | { readonly type: 'ready'; readonly t: number }
  | {
      readonly type: 'intent';
      readonly t: number;
      readonly op: 'register' | 'load' | 'unregister';
      readonly id: string;
    }
  | {
      readonly type: 'done';
      readonly t: number;
      readonly op: 'register' | 'load' | 'unregister';
      readonly id: string;
      readonly instanceId?: string;
    }
  | {
      readonly type: 'failed';
      readonly t: number;
      readonly op: 'register' | 'load' | 'unregister';
      readonly id: string;
      readonly error: string;
    }
  | { readonly type: 'instance'; readonly t: number; readonly id: string; readonly instanceId: string }
  | { readonly type: 'lost'; readonly t: number; readonly id: string; readonly reason: string }
  | {
      readonly type: 'state';
      readonly t: number;
      readonly seq: number;
      readonly nodes: readonly OwnedState[];
    };

export class OwnerAgent {
  private discovery: NodeDiscovery | undefined;
  /** Ids this owner means to hold: registered and not unregistered since. */
  private readonly owned = new Set<string>();
  private readonly lastInstance = new Map<string, string>();
  private instanceTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly report: (report: OwnerReport) => void) {}

  /**
   * Opens the discovery instance, retrying while the servers are down (a process started during
   * an outage waits for them, as an application would).
   */
  async start(backend: () => Parameters<typeof createDiscovery>[0]['backend'], ttl: number): Promise<void> {
    for (;;) {
      try {
        this.discovery = await createDiscovery({
          backend: backend(),
          ttl,
          onOwnNodeLost: (node, reason) => this.report({ type: 'lost', t: Date.now(), id: node.id, reason }),
        });
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    // Re-registration after a loss makes a new instanceId inside core: report it so that the
    // checker can tell which incarnation a later `left` belongs to.
    this.instanceTimer = setInterval(() => this.reportInstances(), 200);
    this.report({ type: 'ready', t: Date.now() });
  }

  private reportInstances(): void {
    const discovery = this.discovery;
    if (!discovery) return;
    for (const id of this.owned) {
      let instanceId: string | undefined;
      try {
        instanceId = discovery.get(id)?.instanceId;
      } catch {
        return;
      }
      if (instanceId && this.lastInstance.get(id) !== instanceId) {
        this.lastInstance.set(id, instanceId);
        this.report({ type: 'instance', t: Date.now(), id, instanceId });
      }
    }
  }

  private chain: Promise<void> = Promise.resolve();

  /** Writes run one after the other (as one application thread would issue them); `state` answers at once. */
  handle(command: OwnerCommand, seq: number): void {
    if (command.op === 'state') {
      void this.run(command, seq);
      return;
    }
    this.chain = this.chain.then(() => this.run(command, seq));
  }

  private async run(command: OwnerCommand, seq: number): Promise<void> {
    const discovery = this.discovery;
    if (!discovery) throw new Error('the owner agent is not started');
    if (command.op === 'state') {
      const nodes: OwnedState[] = [];
      for (const id of [...this.owned].sort()) {
        const node = discovery.get(id);
        if (node)
          nodes.push({ id, instanceId: node.instanceId, load: node.load, metadata: { ...node.metadata } });
      }
      this.report({ type: 'state', t: Date.now(), seq, nodes });
      return;
    }
    const { op, id } = command;
    this.report({ type: 'intent', t: Date.now(), op, id });
    try {
      if (command.op === 'register') {
        this.owned.add(id);
        const node = await discovery.register({ id, load: command.load, metadata: command.metadata });
        this.lastInstance.set(id, node.instanceId);
        this.report({ type: 'done', t: Date.now(), op, id, instanceId: node.instanceId });
      } else if (command.op === 'load') {
        await discovery.heartbeat(id, command.load);
        this.report({ type: 'done', t: Date.now(), op, id });
      } else {
        this.owned.delete(id);
        this.lastInstance.delete(id);
        try {
          await discovery.unregister(id);
        } catch (error) {
          // A rejected unregister changed nothing: core keeps owning (and heartbeating) the node.
          this.owned.add(id);
          throw error;
        }
        this.report({ type: 'done', t: Date.now(), op, id });
      }
    } catch (error) {
      this.report({
        type: 'failed',
        t: Date.now(),
        op,
        id,
        error: String((error as Error)?.message ?? error),
      });
    }
  }

  /** A crash: heartbeats stop, nothing is unregistered (the in-process stand-in for SIGKILL). */
  async crash(): Promise<void> {
    if (this.instanceTimer) clearInterval(this.instanceTimer);
    await this.discovery?.close({ unregister: false }).catch(() => {});
  }
}
