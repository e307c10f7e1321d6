import { type ErrorCode, SuperCacheError } from '@supercache/storage';
import { expect } from 'vitest';

/** Runs `fn`, asserts it throws a SuperCacheError with `code`, and returns the error. */
export function expectCode(fn: () => unknown, code: ErrorCode): SuperCacheError {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (e) {
    thrown = e;
    threw = true;
  }
  expect(threw, `expected a ${code} throw`).toBe(true);
  expect(SuperCacheError.is(thrown), `expected a SuperCacheError, got ${String(thrown)}`).toBe(true);
  expect((thrown as SuperCacheError).code).toBe(code);
  return thrown as SuperCacheError;
}
