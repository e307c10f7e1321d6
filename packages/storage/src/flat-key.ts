/**
 * Fast map keys for composite keys that are flat tuples of primitives, such
 * as `['user', 42]`: a 32-bit hash computed in place of an encoded string,
 * so a lookup allocates nothing and hashes a small integer. Equality is
 * checked element by element afterwards; collisions are handled by the table.
 *
 * @internal
 */

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const PRIME = 0x01000193;

/**
 * The 32-bit hash of `key` when it is a flat array of strings, numbers,
 * booleans and nulls; `undefined` for any other array. Equal keys (by
 * `termsEqual`: `-0` equals `0`, `NaN` equals `NaN`) hash alike.
 */
export function flatHash(key: readonly unknown[]): number | undefined {
  let h = Math.imul(0x811c9dc5 ^ key.length, PRIME);
  for (let i = 0; i < key.length; i++) {
    const e = key[i];
    switch (typeof e) {
      case 'string': {
        h = Math.imul(h ^ 0x73, PRIME);
        for (let j = 0; j < e.length; j++) h = Math.imul(h ^ e.charCodeAt(j), PRIME);
        h = Math.imul(h ^ e.length, PRIME);
        break;
      }
      case 'number': {
        // (e | 0) === e also holds for -0, which must hash like 0.
        if ((e | 0) === e) h = Math.imul(h ^ 0x64, PRIME) ^ (e | 0);
        else if (Number.isNaN(e)) h = Math.imul(h ^ 0x4e, PRIME);
        else {
          F64[0] = e;
          h = Math.imul(Math.imul(h ^ 0x66, PRIME) ^ (U32[0] as number), PRIME) ^ (U32[1] as number);
        }
        h = Math.imul(h, PRIME);
        break;
      }
      case 'boolean':
        h = Math.imul(h ^ (e ? 0x74 : 0x46), PRIME);
        break;
      default:
        if (e === null) {
          h = Math.imul(h ^ 0x6e, PRIME);
          break;
        }
        return undefined;
    }
  }
  return h | 0;
}

/**
 * Element-wise SameValueZero equality of two arrays, the equality of terms
 * for flat tuples of primitives.
 */
export function flatEqual(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    // biome-ignore lint/suspicious/noSelfCompare: NaN equals NaN as a term.
    if (x !== y && (x === x || y === y)) return false;
  }
  return true;
}

/**
 * True when every element of `obj` is a primitive term, so the tuple needs
 * no deep validation.
 */
export function isFlatTuple(obj: readonly unknown[]): boolean {
  for (let i = 0; i < obj.length; i++) {
    const e = obj[i];
    const t = typeof e;
    if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint' || e === null) continue;
    return false;
  }
  return true;
}
