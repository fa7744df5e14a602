/**
 * What a process says about a node it runs when it registers it.
 *
 * @example
 * ```ts
 * await discovery.register({ id: 'api-1', address: '10.0.0.5:8080', metadata: { role: 'api' }, load: 0.2 });
 * ```
 */
export interface NodeRegistration {
  /** 1–128 characters from `A-Z a-z 0-9 _ - = .`; a dot is never first, last, or doubled. */
  id: string;
  /** How peers reach the node: `host:port` or a URL. */
  address?: string;
  /** Free-form string pairs: role, zone, version … */
  metadata?: Record<string, string>;
  /** A finite number >= 0; default 0. */
  load?: number;
}
