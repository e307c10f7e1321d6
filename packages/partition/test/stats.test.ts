import { describe, expect, it } from 'vitest';
import { partitionOf } from '../src/index.js';
import { bump, chiSquareCritical, chiSquareSurvival, looksUniform } from './support/stats.js';

// These tests check the test harness itself: the spread tests elsewhere are
// only worth something if the chi-square bound is right and can reject.
describe('chi-square helper', () => {
  it.each([
    [1, 0.001, 10.828],
    [7, 0.001, 24.322],
    [8, 0.001, 26.124],
    [10, 0.001, 29.588],
    [1, 0.05, 3.841],
    [30, 0.05, 43.773],
    [100, 0.001, 149.449],
  ])('gives the textbook critical value for df = %i, alpha = %f', (df, alpha, expected) => {
    expect(chiSquareCritical(df, alpha)).toBeCloseTo(expected, 2);
    expect(chiSquareSurvival(expected, df)).toBeCloseTo(alpha, 4);
  });

  it('rejects a hash that only looks at the key length', () => {
    const counts = new Float64Array(64);
    for (let i = 0; i < 100_000; i++) bump(counts, `user:${i}`.length % 64);
    expect(looksUniform(counts).ok).toBe(false);
  });

  it('rejects a spread that never uses one of 64 partitions', () => {
    const counts = new Float64Array(64);
    for (let i = 0; i < 100_000; i++) bump(counts, partitionOf(`user:${i}`, 63));
    expect(looksUniform(counts).ok).toBe(false);
  });

  it('rejects a spread where one partition of 64 gets a quarter more than its share', () => {
    const counts = new Float64Array(64);
    for (let i = 0; i < 100_000; i++) {
      const p = partitionOf(i, 64);
      // A quarter of partition 1's keys land in partition 0 instead.
      bump(counts, p === 1 && i % 4 === 0 ? 0 : p);
    }
    expect(looksUniform(counts).ok).toBe(false);
  });
});
