/**
 * Items for the ring tests: a sequence number, a checksum and a payload
 * derived from the sequence number, so that a reader can tell an item that
 * was lost, doubled or torn (half of one write and half of another).
 *
 *   offset 0  u32 sequence
 *   offset 4  u32 checksum (FNV-1a of the payload)
 *   offset 8  payload: byte i is (sequence × 31 + i) & 0xff
 */

/** FNV-1a over bytes. */
export function fnv1a(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** An item of `size` bytes (at least 8) for sequence `seq`. */
export function makeItem(seq: number, size: number): Uint8Array {
  const item = new Uint8Array(Math.max(8, size));
  for (let i = 8; i < item.length; i++) item[i] = (seq * 31 + i) & 0xff;
  const view = new DataView(item.buffer);
  view.setUint32(0, seq, true);
  view.setUint32(4, fnv1a(item, 8), true);
  return item;
}

/** The item's sequence number, or null if its checksum or payload is wrong. */
export function checkItem(item: Uint8Array): number | null {
  if (item.length < 8) return null;
  const view = new DataView(item.buffer, item.byteOffset, item.byteLength);
  const seq = view.getUint32(0, true);
  if (view.getUint32(4, true) !== fnv1a(item, 8)) return null;
  for (let i = 8; i < item.length; i++) if (item[i] !== ((seq * 31 + i) & 0xff)) return null;
  return seq;
}
