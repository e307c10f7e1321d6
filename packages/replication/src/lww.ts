/**
 * Last-writer-wins: of two versions of one object, keep the one with the
 * larger hybrid-logical-clock timestamp. A missing version (a write made
 * without a clock, e.g. in local mode) loses to any version.
 */

/**
 * Orders two versions: negative when `a` is older, positive when newer, 0
 * when equal. `undefined` (and `null`, which is how a missing version
 * travels on the wire) sorts before every string.
 */
export function compareVersions(a: string | null | undefined, b: string | null | undefined): number {
  const ha = typeof a === 'string';
  const hb = typeof b === 'string';
  if (!ha || !hb) return ha ? 1 : hb ? -1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Anything that carries a version. */
export interface Versioned {
  /** An HLC timestamp string, or undefined when the writer had no clock. */
  readonly version?: string | null | undefined;
}

/**
 * The last-writer-wins merge of two versions of one object: the one with the
 * larger version; on equal versions `a` (the local copy). Either may be
 * undefined (absent).
 *
 * @example
 * ```ts
 * lww({ v: 1, version: '0192ab34cd56-000000-a' }, { v: 2, version: '0192ab34cd57-000000-b' }).v; // 2
 * ```
 */
export function lww<T extends Versioned>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareVersions(b.version, a.version) > 0 ? b : a;
}

/** The larger of two versions (undefined only when both are). */
export function maxVersion(a: string | undefined, b: string | undefined): string | undefined {
  return compareVersions(a, b) >= 0 ? a : b;
}
