/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby, public domain), written
 * with `Math.imul` so every engine computes the same unsigned 32-bit result.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Mixes one little-endian 32-bit block into the running state `h`.
 * @internal
 */
export function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * Mixes the final 1–3 bytes (already assembled little-endian into `k`).
 * @internal
 */
export function mixTail(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  return h ^ k;
}

/**
 * The finalizer: xors in the byte length and avalanches. Returns unsigned.
 * @internal
 */
export function finish(h: number, byteLength: number): number {
  h ^= byteLength;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3 x86_32 of the 8-byte message `le32(a) ‖ le32(b)`, seed 0.
 * The building block of the rendezvous scores.
 * @internal
 */
export function hashPair(a: number, b: number): number {
  return finish(mixBlock(mixBlock(0, a), b), 8);
}

/**
 * MurmurHash3 x86_32 of a byte string with a signed-32-bit `seed` (already
 * validated by the caller).
 * @internal
 */
export function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  let h = seed | 0;
  const len = bytes.length;
  const blocks = len & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    h = mixBlock(
      h,
      (bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24),
    );
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= (bytes[i + 2] as number) << 16;
    if (rest >= 2) k ^= (bytes[i + 1] as number) << 8;
    k ^= bytes[i] as number;
    h = mixTail(h, k);
  }
  return finish(h, len);
}

/**
 * MurmurHash3 x86_32 of the UTF-16LE encoding of `text` (each code unit is
 * the two bytes `lo, hi`; lone surrogates are hashed as they are), without
 * allocating the bytes: two code units make one little-endian 32-bit block.
 * @internal
 */
export function murmur3Utf16(text: string, seed: number): number {
  let h = seed | 0;
  const n = text.length;
  const pairs = n & ~1;
  let i = 0;
  for (; i < pairs; i += 2) {
    h = mixBlock(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16));
  }
  if (i < n) h = mixTail(h, text.charCodeAt(i));
  return finish(h, n * 2);
}
