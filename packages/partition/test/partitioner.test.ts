import type { Term } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPartitioner, type HashFn, hashTerm, partitionOf } from '../src/index.js';
import { expectCode } from './support/errors.js';

const SEED = 0x9a27;

describe('partitionOf', () => {
  it('is hashTerm(term) % numPartitions', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1 << 20 }), (key, n) => {
        const p = partitionOf(key, n);
        expect(p).toBe(hashTerm(key) % n);
        expect(Number.isInteger(p) && p >= 0 && p < n).toBe(true);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it.each([
    ['user:42', 64, 58],
    [['user', 1], 64, 38],
    [42, 1024, 66],
    ['user:42', 7, 2],
  ] as const)('puts %j in partition %i of %i (pinned)', (key, n, expected) => {
    expect(partitionOf(key as Term, n)).toBe(expected);
  });

  it('puts everything in partition 0 of 1, and uses the whole hash with 2^32 partitions', () => {
    expect(partitionOf('anything', 1)).toBe(0);
    expect(partitionOf('anything', 2 ** 32)).toBe(hashTerm('anything'));
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32 + 1, '8'])(
    'rejects numPartitions %s with SC_ERR_BAD_ARG',
    (n) => {
      const e = expectCode(() => partitionOf('k', n as number), 'SC_ERR_BAD_ARG');
      expect(e.message).toMatch(/numPartitions must be an integer in \[1, 2\^32\]/);
    },
  );

  it('rejects a non-term key with SC_ERR_INVALID_TERM', () => {
    expectCode(() => partitionOf(undefined as unknown as Term, 8), 'SC_ERR_INVALID_TERM');
  });
});

describe('createPartitioner', () => {
  it('uses the stable hash by default', () => {
    const p = createPartitioner({ numPartitions: 64 });
    expect(p.numPartitions).toBe(64);
    expect(p.custom).toBe(false);
    for (let i = 0; i < 100; i++) expect(p.partitionOf(['user', i])).toBe(partitionOf(['user', i], 64));
  });

  it('calls a user hash with the key and the partition count, and uses its answer', () => {
    const calls: [Term, number][] = [];
    const hash: HashFn = (key, n) => {
      calls.push([key, n]);
      return typeof key === 'number' ? key % n : 0;
    };
    const p = createPartitioner({ numPartitions: 8, hash });
    expect(p.custom).toBe(true);
    expect(p.partitionOf(13)).toBe(5);
    expect(p.partitionOf('x')).toBe(0);
    expect(calls).toEqual([
      [13, 8],
      ['x', 8],
    ]);
  });

  it('accepts explicit hash: undefined as the default', () => {
    expect(createPartitioner({ numPartitions: 4, hash: undefined }).partitionOf('k')).toBe(
      partitionOf('k', 4),
    );
  });

  it.each([
    ['numPartitions itself', 8],
    ['a negative number', -1],
    ['a fraction', 2.5],
    ['NaN', Number.NaN],
    ['a numeric string', '3'],
    ['undefined', undefined],
    ['a bigint', 3n],
  ])('rejects a user hash that returns %s with SC_ERR_BAD_ARG', (_name, value) => {
    const p = createPartitioner({ numPartitions: 8, hash: () => value as number });
    const e = expectCode(() => p.partitionOf('k'), 'SC_ERR_BAD_ARG');
    expect(e.message).toMatch(
      /hash callback returned .* for numPartitions 8; it must return an integer in \[0, 8\)/,
    );
    expect(e.details).toMatchObject({ numPartitions: 8 });
  });

  it("lets a user hash's own error through unchanged", () => {
    const boom = new Error('boom');
    const p = createPartitioner({
      numPartitions: 8,
      hash: () => {
        throw boom;
      },
    });
    expect(() => p.partitionOf('k')).toThrow(boom);
  });

  it('rejects a hash that is not a function, and a bad partition count, with SC_ERR_BAD_ARG', () => {
    expectCode(
      () => createPartitioner({ numPartitions: 8, hash: 'murmur' as unknown as HashFn }),
      'SC_ERR_BAD_ARG',
    );
    expectCode(() => createPartitioner({ numPartitions: 0 }), 'SC_ERR_BAD_ARG');
    expectCode(() => createPartitioner(null as unknown as { numPartitions: number }), 'SC_ERR_BAD_ARG');
  });
});
