/** A node as every instance sees it. Immutable: a change is a new object. */
export interface NodeInfo {
  /** The node's id (see {@link NodeRegistration.id}). */
  readonly id: string;
  /** How peers reach it, when the owner said. */
  readonly address?: string;
  /** String pairs given at registration (empty object when none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The owner's last reported load (0 by default). */
  readonly load: number;
  /**
   * Random, new each time an instance takes an id it did not own: it tells a restart
   * (new `instanceId`) from an update (same `instanceId`).
   */
  readonly instanceId: string;
  /** Epoch ms, set by `register()`. */
  readonly registeredAt: number;
  /** Epoch ms, set by the owner at each heartbeat (the owner's clock). */
  readonly lastSeen: number;
}
