/**
 * A deliberately naive MurmurHash3 x86_32, written from the algorithm's
 * description with BigInt arithmetic mod 2^32 (no Math.imul, no bit tricks
 * shared with src/), to cross-check the optimized implementation.
 */

const M32 = 0xffffffffn;

const mul = (a: bigint, b: bigint): bigint => (a * b) & M32;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (32n - r))) & M32;

export function referenceMurmur3(bytes: readonly number[] | Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51n;
  const c2 = 0x1b873593n;
  let h = BigInt(seed) & M32;
  const len = bytes.length;
  const nblocks = Math.floor(len / 4);
  for (let b = 0; b < nblocks; b++) {
    let k = 0n;
    for (let j = 3; j >= 0; j--) k = (k << 8n) | BigInt(bytes[b * 4 + j] as number);
    k = mul(k, c1);
    k = rotl(k, 15n);
    k = mul(k, c2);
    h ^= k;
    h = rotl(h, 13n);
    h = (mul(h, 5n) + 0xe6546b64n) & M32;
  }
  const tail = len - nblocks * 4;
  if (tail > 0) {
    let k = 0n;
    for (let j = tail - 1; j >= 0; j--) k = (k << 8n) | BigInt(bytes[nblocks * 4 + j] as number);
    k = mul(k, c1);
    k = rotl(k, 15n);
    k = mul(k, c2);
    h ^= k;
  }
  h ^= BigInt(len) & M32;
  h ^= h >> 16n;
  h = mul(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return Number(h);
}

/** The UTF-16LE bytes of a string, built by hand (lone surrogates kept as they are). */
export function utf16leBytes(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out.push(c & 0xff, c >>> 8);
  }
  return out;
}

/** Little-endian bytes of unsigned 32-bit words. */
export function le32(...words: number[]): number[] {
  const out: number[] = [];
  for (const w of words) out.push(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24);
  return out;
}
