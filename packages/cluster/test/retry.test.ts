import { describe, expect, it } from 'vitest';
import { exponential, linear, retrying } from '../src/retry.js';

describe('retrying', () => {
  it('stops at the first success', async () => {
    let calls = 0;
    const v = await retrying(
      linear(5, 1),
      async (i) => {
        calls++;
        return i === 2 ? { done: true, value: 'ok' } : { done: false };
      },
      () => new Error('exhausted'),
    );
    expect(v).toBe('ok');
    expect(calls).toBe(3);
  });

  it('throws what exhausted() builds from the last error once the attempts run out', async () => {
    let calls = 0;
    const err = await retrying(
      linear(3, 1),
      async (i) => {
        calls++;
        return { done: false, error: new Error(`e${i}`) };
      },
      (last) => new Error(`gave up after ${(last as Error).message}`),
    ).catch((e: unknown) => e as Error);
    if (!(err instanceof Error)) throw new Error('expected an error');
    expect(calls).toBe(3);
    expect(err.message).toBe('gave up after e2');
  });

  it('an attempt that throws ends the loop at once', async () => {
    let calls = 0;
    await expect(
      retrying(
        linear(5, 1),
        async () => {
          calls++;
          throw new Error('fatal');
        },
        () => new Error('exhausted'),
      ),
    ).rejects.toThrow('fatal');
    expect(calls).toBe(1);
  });

  it('backoffs: linear grows by steps, exponential doubles up to a cap', () => {
    const l = linear(4, 10);
    expect([0, 1, 2].map(l.delayMs)).toEqual([10, 20, 30]);
    const e = exponential(6, 50, 300);
    expect([0, 1, 2, 3, 4].map(e.delayMs)).toEqual([50, 100, 200, 300, 300]);
  });
});
