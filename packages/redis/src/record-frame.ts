// How a record and its revision are stored together in one hash field.
/**
 * How a record sits in the records hash: `<revision>\n<record bytes>`. Keeping the revision in
 * the value (rather than a second hash) makes a heartbeat one write less and a list half the
 * reply. A value without the frame was written by another tool: it is handed over whole, with
 * revision 0, and core skips it as foreign data.
 */
export function unframe(stored: Buffer): { value: Uint8Array; revision: number } {
  const newline = stored.indexOf(0x0a);
  if (newline > 0 && newline <= 16) {
    let revision = 0;
    let digits = true;
    for (let i = 0; i < newline; i++) {
      const c = stored[i]!;
      if (c < 0x30 || c > 0x39) {
        digits = false;
        break;
      }
      revision = revision * 10 + (c - 0x30);
    }
    if (digits) return { value: bytes(stored.subarray(newline + 1)), revision };
  }
  return { value: bytes(stored), revision: 0 };
}

export function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
