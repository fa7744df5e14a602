/** Options of `NodeDiscovery.registerMany`. */
export interface RegisterManyOptions {
  /** Registrations in flight at once. Default 32. */
  concurrency?: number;
}
