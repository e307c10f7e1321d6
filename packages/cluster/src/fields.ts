/**
 * Readers of peer-request bodies: each checks one field's shape and throws
 * the `SC_ERR_BAD_REQUEST` a peer gets back (HTTP 400) when it is wrong.
 */

import { SuperCacheError } from '@supercache/storage';

// One definition of each, in the router: a plain map (not null, an array or
// bytes), and a timer that honours an abort signal.
export { isRecord, sleep } from '@supercache/router';

/** A decoded request body (a map). */
export type Body = Record<string, unknown>;

/** A non-empty string field. */
export function str(body: Body, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be a non-empty string`);
  }
  return v;
}

/** A non-negative safe-integer field. */
export function int(body: Body, field: string): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be a non-negative integer`);
  }
  return v;
}

/** An array field (its items are checked by the caller). */
export function list<T>(body: Body, field: string): T[] {
  const v = body[field];
  if (!Array.isArray(v)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must be an array`);
  return v as T[];
}

/** An array of non-negative integers. */
export function intList(body: Body, field: string): number[] {
  const v = list<unknown>(body, field);
  for (const x of v) {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `field ${field} must list non-negative integers`);
    }
  }
  return v as number[];
}
