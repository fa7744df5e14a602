/**
 * Selects nodes by metadata: every given pair must match exactly.
 *
 * @example
 * ```ts
 * discovery.list({ metadata: { role: 'api', zone: 'eu-1' } });
 * ```
 */
export interface NodeFilter {
  metadata?: Record<string, string>;
}
