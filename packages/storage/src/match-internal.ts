/**
 * Helpers shared by the pattern, expression and codec modules. Internal: not
 * exported from the package.
 */

import { SuperCacheError } from './errors.js';

/** Deepest nesting accepted in a pattern or expression (as for terms). */
export const MAX_DEPTH = 512;

/** The `SC_ERR_BAD_MATCH_SPEC` error, with the path of the offending part. */
export function badSpec(path: string, what: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_MATCH_SPEC', `${path}: ${what}`, { details: { path } });
}

/** True for an object with `Object.prototype` or `null` as prototype. */
export function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** True for a byte-array term (a `Uint8Array`, or Node's `Buffer`). */
export function isBytes(value: object): value is Uint8Array {
  return (
    value instanceof Uint8Array &&
    (value.constructor === Uint8Array || (typeof Buffer !== 'undefined' && Buffer.isBuffer(value)))
  );
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** `path.key`, or `path["odd key"]` when the key is not an identifier. */
export function keyPath(path: string, key: string): string {
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** A short description of a value that is not allowed somewhere. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `an instance of ${typeof name === 'string' ? name : 'an unknown class'}`;
  }
  return `${typeof value} ${String(value)}`;
}

/**
 * Sets `out[key] = value` as an own data property even when `key` is
 * `'__proto__'` (which plain assignment would turn into a prototype change).
 */
export function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    out[key] = value;
  }
}
