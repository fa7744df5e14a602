// Which nats-server versions write limit markers (expiry events), and the marker ttl to ask for.
/** The first nats-server release whose KV buckets can write a marker when a key ages out. */
export const LIMIT_MARKERS_SINCE = [2, 11, 2] as const;

/**
 * Whether a server of this version (`2.10.22`, `2.11.2-RC.1`, `v2.12.0`) writes limit markers
 * (`subject_delete_marker_ttl`), so the feed itself reports expiries. Older servers remove an
 * aged-out key silently (nats-server#4640). An unparsable version is treated as old: the
 * client-side path is always correct, only slower.
 */
export function supportsLimitMarkers(version: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const have = [Number(match[1]), Number(match[2]), Number(match[3])];
  for (let i = 0; i < 3; i++) {
    const a = have[i] as number;
    const b = LIMIT_MARKERS_SINCE[i] as number;
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * How long a MaxAge marker should live, or 0 for no markers: markers only where the server
 * writes them and the user did not opt out. A marker must outlive a watcher's short outage, and
 * the server wants at least 1 s.
 */
export function markerTtlFor(
  version: string | undefined,
  limitMarkers: 'auto' | 'off' | undefined,
  ttl: number,
): number {
  if (limitMarkers === 'off' || !supportsLimitMarkers(version)) return 0;
  return Math.max(Math.ceil(ttl), 1_000);
}

/**
 * The feed reports expiries itself only when markers were asked for and the bucket actually has
 * them: a bucket created earlier without markers keeps the client-side path (core's sweeper).
 */
export function hasNativeExpiryEvents(requestedMarkerTtl: number, bucketMarkerTtl: number): boolean {
  return requestedMarkerTtl > 0 && bucketMarkerTtl > 0;
}
