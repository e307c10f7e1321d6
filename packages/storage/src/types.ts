/**
 * Public types of the storage layer: table options, entries with metadata,
 * counter operations, pages and the synchronous table contract.
 */

import type { Term, Tuple } from './terms.js';

/** ETS table types. */
export type TableType = 'set' | 'ordered_set' | 'bag' | 'duplicate_bag';

/** A source of time in milliseconds; inject one for deterministic tests. */
export interface Clock {
  /** Current time in milliseconds (monotonic enough for TTL). */
  now(): number;
}

/** Why an entry left the table without an explicit delete. */
export type RemovalReason = 'expired' | 'evicted';

/** Options of `new Table(options)`. */
export interface TableOptions {
  /** Table type. @defaultValue `'set'` */
  type?: TableType;
  /** 0-based position of the key in every tuple. @defaultValue 0 */
  keyPos?: number;
  /**
   * Default time to live of every inserted object, in milliseconds. `0` or
   * `Infinity` means no expiry. A per-insert `ttl` overrides it.
   * @defaultValue 0 (never expires)
   */
  ttl?: number;
  /**
   * Most objects the table holds; inserting past it evicts the least
   * recently used key (all its objects, for bags). `0` means no limit.
   * @defaultValue 0
   */
  maxEntries?: number;
  /**
   * Most estimated bytes (see `termBytes`) the table holds; past it the
   * least recently used keys are evicted until it fits. `0` means no limit.
   * @defaultValue 0
   */
  maxBytes?: number;
  /** Time source for TTL. @defaultValue `{ now: Date.now }` */
  clock?: Clock;
  /**
   * Interval of the incremental expiry sweep in milliseconds; `0` disables
   * the timer (expired entries are still invisible, and `sweep()` reclaims
   * them on demand). @defaultValue 1000
   */
  sweepIntervalMs?: number;
  /** Most entries one sweep step examines. @defaultValue 1000 */
  sweepBatch?: number;
  /** Called after an entry expires or is evicted (not on explicit deletes). */
  onRemove?: (entry: Entry, reason: RemovalReason) => void;
}

/** Per-insert options. */
export interface InsertOptions {
  /**
   * Time to live of this object in milliseconds, overriding the table's
   * default. `0` or `Infinity` means no expiry.
   */
  ttl?: number;
  /**
   * Version stamped on the written objects (see {@link EntryMeta.version});
   * set by the replication layer, left out by users.
   */
  version?: string;
}

/** Metadata kept beside a stored tuple, never inside it. */
export interface EntryMeta {
  /** Absolute expiry time (clock milliseconds); `0` means never. @defaultValue 0 */
  expiresAt?: number;
  /**
   * Opaque version used by the replication layer for last-writer-wins. The
   * format is the replication layer's (a fixed-width string that sorts in
   * version order); storage only stores it.
   */
  version?: string;
}

/** A stored object with its metadata. */
export interface Entry {
  /** The tuple exactly as the user inserted it. */
  readonly obj: Tuple;
  /** Absolute expiry time in clock milliseconds; `0` means never. */
  readonly expiresAt: number;
  /** Version for last-writer-wins, if the writer gave one. */
  readonly version: string | undefined;
}

/**
 * An `updateCounter` operation, as in ETS: an increment of the element
 * after the key (`incr`), `[pos, incr]`, or `[pos, incr, threshold,
 * setValue]` (when the result passes `threshold` in the direction of
 * `incr`, it becomes `setValue`).
 */
export type CounterOp =
  | number
  | readonly [pos: number, incr: number]
  | readonly [pos: number, incr: number, threshold: number, setValue: number];

/** One page of results and how to get the next one. */
export interface Page<T, C = unknown> {
  /** The results of this page (at most `limit`). */
  readonly items: T[];
  /** Pass it back alone to get the next page; absent on the last page. */
  readonly continuation?: C;
}

/** What `info()` reports. */
export interface TableInfo {
  readonly type: TableType;
  readonly keyPos: number;
  /** Number of live objects. */
  readonly size: number;
  /** Estimated bytes of the stored terms (see `termBytes`). */
  readonly memory: number;
}

/** Counters kept by every table since it was created. */
export interface TableStats {
  /** Reads (`lookup`, `lookupElement`, `member`) that found a live object. */
  readonly hits: number;
  /** Reads that found nothing (or only expired objects). */
  readonly misses: number;
  /** Objects written by inserts and updates. */
  readonly inserts: number;
  /** Objects removed by explicit deletes (`delete`, `take`, match/select deletes). */
  readonly deletes: number;
  /** Objects removed because their TTL passed. */
  readonly expirations: number;
  /** Objects removed to respect `maxEntries` / `maxBytes`. */
  readonly evictions: number;
}

/** A read-only view of a tuple `Term` for callbacks. */
export type { Term, Tuple };
