/**
 * Error helpers of the core package. Every error is a storage
 * `SuperCacheError` with a stable code; these only keep the messages uniform.
 */

import { SuperCacheError } from '@supercache/storage';

/** A short, safe rendering of any value for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** `SC_ERR_BAD_CONFIG` naming the field, what it must be, and what it got. */
export function badConfig(owner: string, field: string, expected: string, value: unknown): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_BAD_CONFIG',
    `invalid ${owner} option ${field}: expected ${expected}, got ${show(value)}`,
    { details: { field, value: show(value) } },
  );
}

/** `SC_ERR_NOT_STARTED` for an operation on a stopped (or never started) instance. */
export function notStarted(what: string, op: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_NOT_STARTED', `${what} is not started (call start() before ${op})`, {
    details: { op },
  });
}

/** `SC_ERR_BAD_ARG` naming the argument. */
export function badArgument(op: string, arg: string, expected: string, value: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_ARG', `${op}: ${arg} must be ${expected}, got ${show(value)}`, {
    details: { op, arg, value: show(value) },
  });
}

/**
 * `SC_ERR_TUPLE_TOO_SHORT` for a probe (a read or delete tuple) without an
 * element at the key or partition position: the seed's "tuple size is lower
 * than key_pos".
 */
export function tupleTooShort(size: number, field: 'keyPos' | 'partitionPos', pos: number): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_TUPLE_TOO_SHORT',
    `tuple size ${size} is lower than ${field} + 1 (${field} is ${pos})`,
    { details: { size, position: pos, field } },
  );
}
