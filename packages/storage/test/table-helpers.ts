import { expect } from 'vitest';
import { SuperCacheError } from '../src/errors.js';
import type { Clock } from '../src/types.js';

/** The code of the SuperCacheError `fn` throws; fails when it throws nothing or something else. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(SuperCacheError.is(e), `expected a SuperCacheError, got ${String(e)}`).toBe(true);
    return (e as SuperCacheError).code;
  }
  throw new Error('expected a SuperCacheError, nothing was thrown');
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  t: number;
  constructor(t = 1000) {
    this.t = t;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
