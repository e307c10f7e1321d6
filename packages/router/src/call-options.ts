/**
 * Per-call options: the read modes, and the check every facade runs on an
 * options bag before it acts, so a typo (`partiton`) or a wrong type
 * (`ttl: '50'`) fails with `SC_ERR_BAD_ARG` naming the option instead of
 * being ignored.
 */

import { SuperCacheError } from '@supercache/storage';

/**
 * Which copy answers a read in distributed mode: `'local'` (this node's
 * copy, may be stale), `'primary'` (the partition's primary) or `'quorum'`
 * (a majority of the copies). A process without a cluster holds one copy,
 * so all three read it and behave the same.
 */
export type ReadMode = 'local' | 'primary' | 'quorum';

/** Every {@link ReadMode}, in the order of the docs. */
export const READ_MODES: readonly ReadMode[] = Object.freeze(['local', 'primary', 'quorum']);

/**
 * Checks one option's value (never `undefined`: an option set to
 * `undefined` counts as not given). Returns `undefined` when it is valid,
 * else what it must be ("a finite number ≥ 0"), for the error message.
 */
export type OptionCheck = (value: unknown) => string | undefined;

/** The options one kind of call accepts: a frozen table of checks. */
export interface OptionShape {
  /** Option name → its check (a prototype-less object, so `toString` is not an option). */
  readonly checks: Readonly<Record<string, OptionCheck>>;
  /** The accepted names, in order, for messages. */
  readonly names: readonly string[];
}

/** Builds a shape from checks. Shapes are built once, at module load, never per call. */
export function optionShape(checks: Readonly<Record<string, OptionCheck>>): OptionShape {
  const table = Object.create(null) as Record<string, OptionCheck>;
  for (const [k, c] of Object.entries(checks)) table[k] = c;
  return Object.freeze({ checks: Object.freeze(table), names: Object.freeze(Object.keys(checks)) });
}

/** Adds checks to a shape (a new shape). */
export function extendShape(base: OptionShape, checks: Readonly<Record<string, OptionCheck>>): OptionShape {
  return optionShape({ ...base.checks, ...checks });
}

// ---- the checks of the router's own options ---------------------------------

/** `signal`: an `AbortSignal`. */
export const checkSignal: OptionCheck = (v) =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as AbortSignal).aborted === 'boolean' &&
  typeof (v as AbortSignal).addEventListener === 'function'
    ? undefined
    : 'an AbortSignal';

/** `readMode`: one of {@link READ_MODES}. */
export const checkReadMode: OptionCheck = (v) =>
  v === 'local' || v === 'primary' || v === 'quorum' ? undefined : "one of 'local', 'primary', 'quorum'";

/** `ttl`: a finite number of milliseconds ≥ 0 (`0`: never expires). */
export const checkTtl: OptionCheck = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0
    ? undefined
    : 'a finite number of milliseconds ≥ 0 (0: never expire)';

/** `partition`: any partition data except a function or a symbol (which no term is). */
export const checkPartition: OptionCheck = (v) =>
  typeof v === 'function' || typeof v === 'symbol' ? 'partition data (a term)' : undefined;

/** `pageSize`: a positive integer. */
export const checkPageSize: OptionCheck = (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : 'a positive integer';

/** Options of every routed call: `signal`. */
export const ROUTE_SHAPE: OptionShape = optionShape({ signal: checkSignal });
/** Options of a read: `signal`, `readMode`. */
export const READ_SHAPE: OptionShape = extendShape(ROUTE_SHAPE, { readMode: checkReadMode });
/** Options of a single-key read: `signal`, `readMode`, `partition`. */
export const KEY_READ_SHAPE: OptionShape = extendShape(READ_SHAPE, { partition: checkPartition });
/** Options of a single-key write: `signal`, `partition`. */
export const KEY_WRITE_SHAPE: OptionShape = extendShape(ROUTE_SHAPE, { partition: checkPartition });
/** Options of a write of tuples: `signal`, `ttl`. */
export const WRITE_SHAPE: OptionShape = extendShape(ROUTE_SHAPE, { ttl: checkTtl });
/** Options of a stream or fold: `signal`, `readMode`, `pageSize`. */
export const STREAM_SHAPE: OptionShape = extendShape(READ_SHAPE, { pageSize: checkPageSize });

// ---- the check ---------------------------------------------------------------

/**
 * Validates an options bag against a shape. Costs one `undefined` test when
 * no options are passed and allocates nothing unless it throws.
 *
 * @param op the operation, as the caller named it (`'put'`, `'lookup'`).
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when `options` is not an object,
 *   has an option the shape does not know (with a did-you-mean hint), or an
 *   option of the wrong type; `details` has `op` and `option`.
 */
export function checkCallOptions(op: string, options: unknown, shape: OptionShape): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badCallOption(op, 'options', 'an options object', options);
  }
  const checks = shape.checks;
  for (const k in options) {
    const check = checks[k];
    if (check === undefined) throw unknownCallOption(op, k, shape.names);
    const v = (options as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const expected = check(v);
    if (expected !== undefined) throw badCallOption(op, k, expected, v);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return v.toString();
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

/** `SC_ERR_BAD_ARG` for an option of the wrong type. */
export function badCallOption(op: string, option: string, expected: string, value: unknown): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_BAD_ARG',
    `${op}: option ${option} must be ${expected}, got ${describe(value)}`,
    { details: { op, option, value: describe(value) } },
  );
}

/** `SC_ERR_BAD_ARG` for an option the call does not know, with the nearest known name. */
export function unknownCallOption(op: string, option: string, known: readonly string[]): SuperCacheError {
  const near = didYouMean(option, known);
  const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
  const list = known.length === 0 ? 'none' : known.join(', ');
  return new SuperCacheError(
    'SC_ERR_BAD_ARG',
    `${op}: unknown option ${option}${hint}; ${op} accepts ${list}`,
    { details: { op, option, ...(near === undefined ? {} : { suggestion: near }) } },
  );
}

/**
 * The known name closest to `name`: its camelCase form (`read_mode`), or a
 * name within a small edit distance (a third of its length, at least 1).
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const camel = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  if (camel !== name && known.includes(camel)) return camel;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance, with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_v, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      }
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n] as number;
}
