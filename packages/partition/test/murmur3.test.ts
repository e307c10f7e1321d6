import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashBytes, hashUtf16 } from '../src/index.js';
import { expectCode } from './support/errors.js';
import { referenceMurmur3, utf16leBytes } from './support/reference.js';

const SEED = 0x5eed;
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Published MurmurHash3_x86_32 vectors (SMHasher / the widely mirrored
// "MurmurHash3 test vectors" list), bytes or UTF-8 text.
const PUBLISHED: readonly [string, Uint8Array, number, number][] = [
  ['empty, seed 0', new Uint8Array(0), 0, 0x00000000],
  ['empty, seed 1', new Uint8Array(0), 1, 0x514e28b7],
  ['empty, seed 0xffffffff', new Uint8Array(0), 0xffffffff, 0x81f16f39],
  ['ff ff ff ff', Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
  ['21 43 65 87', Uint8Array.of(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
  ['21 43 65 87, seed 0x5082edee', Uint8Array.of(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
  ['21 43 65', Uint8Array.of(0x21, 0x43, 0x65), 0, 0x7e4a8634],
  ['21 43', Uint8Array.of(0x21, 0x43), 0, 0xa0f7b07a],
  ['21', Uint8Array.of(0x21), 0, 0x72661cf4],
  ['00 00 00 00', new Uint8Array(4), 0, 0x2362f9de],
  ['00 00 00', new Uint8Array(3), 0, 0x85f0b427],
  ['00 00', new Uint8Array(2), 0, 0x30f4c306],
  ['00', new Uint8Array(1), 0, 0x514e28b7],
  ['"test"', ascii('test'), 0, 0xba6bd213],
  ['"abc"', ascii('abc'), 0, 0xb3dd93fa],
  ['"Hello, world!"', ascii('Hello, world!'), 0, 0xc0363e43],
  ['"Hello, world!", seed 1234', ascii('Hello, world!'), 1234, 0xfaf6cdb3],
  ['"Hello, world!", seed 0x9747b28c', ascii('Hello, world!'), 0x9747b28c, 0x24884cba],
  ['"ππππππππ" (UTF-8), seed 0x9747b28c', ascii('ππππππππ'), 0x9747b28c, 0xd58063c1],
  ['"aaaa", seed 0x9747b28c', ascii('aaaa'), 0x9747b28c, 0x5a97808a],
  ['"aaa", seed 0x9747b28c', ascii('aaa'), 0x9747b28c, 0x283e0130],
  ['"aa", seed 0x9747b28c', ascii('aa'), 0x9747b28c, 0x5d211726],
  ['"a", seed 0x9747b28c', ascii('a'), 0x9747b28c, 0x7fa09ea6],
  ['"abcd", seed 0x9747b28c', ascii('abcd'), 0x9747b28c, 0xf0478627],
  ['"a" × 256, seed 0x9747b28c', ascii('a'.repeat(256)), 0x9747b28c, 0x37405bdc],
  ['quick brown fox', ascii('The quick brown fox jumps over the lazy dog'), 0, 0x2e4ff723],
  [
    'quick brown fox, seed 0x9747b28c',
    ascii('The quick brown fox jumps over the lazy dog'),
    0x9747b28c,
    0x2fa826cd,
  ],
];

describe('hashBytes (MurmurHash3 x86_32)', () => {
  it.each(PUBLISHED)('matches the published vector for %s', (_name, bytes, seed, expected) => {
    expect(hashBytes(bytes, seed)).toBe(expected);
  });

  it('matches the naive BigInt reference on the published vectors too (the reference is sound)', () => {
    for (const [, bytes, seed, expected] of PUBLISHED) expect(referenceMurmur3(bytes, seed)).toBe(expected);
  });

  it("passes SMHasher's verification value 0xB0F57EE3", () => {
    // Hash keys {0}, {0,1}, ... of length 0..255 with seed 256 - length,
    // concatenate the results little-endian, hash that with seed 0.
    const all = new Uint8Array(256 * 4);
    const view = new DataView(all.buffer);
    for (let len = 0; len < 256; len++) {
      const key = Uint8Array.from({ length: len }, (_, i) => i);
      view.setUint32(len * 4, hashBytes(key, 256 - len), true);
    }
    expect(hashBytes(all, 0)).toBe(0xb0f57ee3);
  });

  it('agrees with the naive BigInt reference on arbitrary bytes and seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 0xffffffff }), (bytes, seed) => {
        expect(hashBytes(bytes, seed)).toBe(referenceMurmur3(bytes, seed));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        const h = hashBytes(bytes);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it.each([-1, 1.5, 2 ** 32, Number.NaN])('rejects seed %s with SC_ERR_BAD_ARG', (seed) => {
    expectCode(() => hashBytes(new Uint8Array(1), seed), 'SC_ERR_BAD_ARG');
  });

  it('rejects something that is not a Uint8Array with SC_ERR_BAD_ARG', () => {
    expectCode(() => hashBytes([1, 2, 3] as unknown as Uint8Array), 'SC_ERR_BAD_ARG');
  });
});

describe('hashUtf16', () => {
  it('is MurmurHash3 over the UTF-16LE bytes, lone surrogates included', () => {
    const codeUnits = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 });
    fc.assert(
      fc.property(codeUnits, fc.nat({ max: 0xffffffff }), (units, seed) => {
        const text = String.fromCharCode(...units);
        const bytes = utf16leBytes(text);
        expect(hashUtf16(text, seed)).toBe(referenceMurmur3(bytes, seed));
        expect(hashUtf16(text, seed)).toBe(hashBytes(Uint8Array.from(bytes), seed));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it("equals hashing Node's own utf16le encoding", () => {
    for (const s of ['', 'a', 'ab', 'héllo', '日本語', '😀 emoji', 'x'.repeat(1001)]) {
      expect(hashUtf16(s)).toBe(hashBytes(new Uint8Array(Buffer.from(s, 'utf16le'))));
    }
  });

  it('rejects a non-string with SC_ERR_BAD_ARG', () => {
    const e = expectCode(() => hashUtf16(42 as unknown as string), 'SC_ERR_BAD_ARG');
    expect(e.message).toMatch(/text must be a string/);
  });
});
