/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms` if `work` is still pending (rule
 * 14 of docs/guarantees.md: a frozen server must not hang a caller). The work itself cannot be
 * cancelled; its late outcome is dropped.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
