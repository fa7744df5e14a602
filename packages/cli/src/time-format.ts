/** `3s ago`, `4m ago`, `2h ago`, `just now`; a time in the future (clock skew) reads `in 2s`. */
export function relativeTime(epochMs: number, now: number): string {
  const delta = now - epochMs;
  if (Math.abs(delta) < 1_000) return 'just now';
  const span = duration(Math.abs(delta));
  return delta > 0 ? `${span} ago` : `in ${span}`;
}

/** A compact duration: `850ms`, `2.4s`, `12s`, `4m10s`, `3h05m`, `2d4h`. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1).replace(/\.0$/, '')}s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${pad(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d${hours % 24}h`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local wall-clock time with milliseconds, for event streams: `14:03:07.215`. */
export function clockTime(epochMs: number): string {
  const date = new Date(epochMs);
  const hh = String(date.getHours()).padStart(2, '0');
  const mm = String(date.getMinutes()).padStart(2, '0');
  const ss = String(date.getSeconds()).padStart(2, '0');
  const ms = String(date.getMilliseconds()).padStart(3, '0');
  return `${hh}:${mm}:${ss}.${ms}`;
}
