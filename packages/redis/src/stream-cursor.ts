// The cursor of list() and watch(): a change-stream id and the namespace revision, as one string.
/**
 * Where a watch starts: the last stream entry id the snapshot covers and the namespace revision
 * it had. The revision lets the watch prove continuity: the next entry must carry revision + 1.
 */
export interface StreamCursor {
  readonly streamId: string;
  readonly revision: number;
}

const STREAM_ID = /^\d+-\d+$/;

export function encodeCursor(cursor: StreamCursor): string {
  return `${cursor.streamId}@${cursor.revision}`;
}

/** Parses a cursor made by {@link encodeCursor}; undefined for anything else. */
export function decodeCursor(text: string): StreamCursor | undefined {
  const [streamId, revision, ...rest] = text.split('@');
  if (rest.length > 0 || streamId === undefined || revision === undefined) return undefined;
  if (!STREAM_ID.test(streamId) || !/^\d+$/.test(revision)) return undefined;
  const value = Number(revision);
  if (!Number.isSafeInteger(value)) return undefined;
  return { streamId, revision: value };
}
