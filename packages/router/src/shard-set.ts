/**
 * A node's share of one logical table: a fixed array of storage tables
 * (shards), the command registry that runs against them, and server-side
 * cursors for paging.
 */

import {
  type Clock,
  compareTerms,
  compileMatchSpec,
  compilePattern,
  type Entry,
  type MatchSpec,
  NO_MATCH,
  type Pattern,
  type RemovalReason,
  SuperCacheError,
  Table,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';
import { builtinCommands } from './builtin.js';
import { type CommandContext, CommandRegistry, type NodeCommand } from './commands.js';

/** Options of a {@link ShardSet}. */
export interface ShardSetOptions {
  /** Table type of every shard. @defaultValue 'set' */
  type?: TableType;
  /** Key position of every shard. @defaultValue 0 */
  keyPos?: number;
  /** Number of shards (storage tables) on this node. */
  shards: number;
  /** Default TTL in ms (0 = none). @defaultValue 0 */
  ttl?: number;
  /** Most objects in the whole set; each shard gets an equal share (rounded up). 0 = none. */
  maxEntries?: number;
  /** Most estimated bytes in the whole set, shared like `maxEntries`. 0 = none. */
  maxBytes?: number;
  /** Time source for TTL. */
  clock?: Clock;
  /** Expiry sweep interval per shard. @defaultValue 1000 */
  sweepIntervalMs?: number;
  /** Called when an object expires or is evicted. */
  onRemove?: (entry: Entry, reason: RemovalReason) => void;
  /** Commands beyond the built-ins (the structures package adds its own). */
  registry?: CommandRegistry;
  /**
   * Most cursors open at once on this shard set (each holds live iterators
   * until it ends, is closed, or idles out); one more fails with
   * `SC_ERR_LIMIT` (retryable). @defaultValue 4096
   */
  maxCursors?: number;
}

/** The kinds of fan-out a cursor can page through. */
export type CursorKind = 'select' | 'selectReverse' | 'match' | 'matchObject' | 'objects';

/** One page from a cursor: `[key, item]` pairs and whether more may follow. */
export interface CursorPage {
  readonly items: Array<readonly [Term, unknown]>;
  readonly done: boolean;
}

interface OpenCursor {
  readonly it: Iterator<readonly [Term, unknown]>;
  lastUsed: number;
}

/** The registry with the built-in commands; shared by default. */
export function createRegistry(): CommandRegistry {
  return new CommandRegistry().registerAll(builtinCommands());
}

const defaultRegistry = createRegistry();

/**
 * The tables one node holds for one logical table, and the commands that
 * run on them. Synchronous: the router makes it asynchronous and remote.
 */
export class ShardSet {
  readonly type: TableType;
  readonly keyPos: number;
  readonly tables: readonly Table[];
  readonly registry: CommandRegistry;
  readonly #cursors = new Map<number, OpenCursor>();
  #nextCursor = 1;
  #clock: Clock;
  readonly #maxCursors: number;

  constructor(options: ShardSetOptions) {
    const n = options.shards;
    if (!Number.isInteger(n) || n < 1 || n > 65_536) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `shards must be an integer from 1 to 65536, got ${String(n)}`,
      );
    }
    this.type = options.type ?? 'set';
    this.keyPos = options.keyPos ?? 0;
    this.registry = options.registry ?? defaultRegistry;
    this.#clock = options.clock ?? { now: Date.now };
    const maxCursors = options.maxCursors ?? 4096;
    if (!Number.isInteger(maxCursors) || maxCursors < 1) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `maxCursors must be a positive integer, got ${String(maxCursors)}`,
      );
    }
    this.#maxCursors = maxCursors;
    const tables: Table[] = [];
    const share = (limit: number | undefined) =>
      limit === undefined || limit === 0 ? 0 : Math.ceil(limit / n);
    for (let i = 0; i < n; i++) {
      tables.push(
        new Table({
          type: this.type,
          keyPos: this.keyPos,
          ttl: options.ttl ?? 0,
          maxEntries: share(options.maxEntries),
          maxBytes: share(options.maxBytes),
          clock: this.#clock,
          ...(options.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: options.sweepIntervalMs }),
          ...(options.onRemove === undefined ? {} : { onRemove: options.onRemove }),
        }),
      );
    }
    this.tables = tables;
  }

  /** Number of shards. */
  get shardCount(): number {
    return this.tables.length;
  }

  /** The table of shard `i`. @throws SuperCacheError `SC_ERR_BAD_ARG` when out of range. */
  table(i: number): Table {
    const t = this.tables[i];
    if (t === undefined)
      throw new SuperCacheError('SC_ERR_BAD_ARG', `no shard ${i} (have ${this.tables.length})`);
    return t;
  }

  /** Runs a shard command on shard `i`. */
  runShard(i: number, name: string, args: readonly unknown[], ctx: CommandContext = NO_CTX): unknown {
    const c = this.registry.get(name);
    if (c.scope !== 'shard')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a single-shard command`);
    return c.run(this.table(i), args, ctx);
  }

  /**
   * Runs a node command over the given shards (all by default) and merges
   * the per-shard results.
   */
  runNode(
    name: string,
    args: readonly unknown[],
    ctx: CommandContext = NO_CTX,
    shards?: readonly number[],
  ): unknown {
    const c = this.registry.get(name);
    if (c.scope !== 'node')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a fan-out command`);
    const tables = shards === undefined ? this.tables : shards.map((i) => this.table(i));
    return c.run(tables, args, ctx);
  }

  /** The merge function of a node command. */
  merger(name: string): NodeCommand['merge'] {
    const c = this.registry.get(name);
    if (c.scope !== 'node')
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${name} is not a fan-out command`);
    return c.merge;
  }

  /**
   * Opens a server-side cursor over the given shards. It holds live
   * iterators, never a materialised result; idle cursors close after
   * `idleMs` (see {@link ShardSet.reapCursors}). The kind and `arg` (a
   * pattern or match spec) are compiled here, so a bad one opens nothing.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` for an unknown kind,
   *   `SC_ERR_BAD_MATCH_SPEC` for a bad pattern or spec, `SC_ERR_LIMIT`
   *   (retryable) when `maxCursors` are open.
   */
  openCursor(kind: CursorKind, arg: unknown, shards?: readonly number[]): number {
    if (this.#cursors.size >= this.#maxCursors) {
      throw new SuperCacheError(
        'SC_ERR_LIMIT',
        `${this.#cursors.size} cursors are open on this node (limit ${this.#maxCursors}); read them to the end or close them`,
        { retryable: true, details: { open: this.#cursors.size, limit: this.#maxCursors } },
      );
    }
    const tables = shards === undefined ? this.tables : shards.map((i) => this.table(i));
    const it = cursorIterator(tables, this.type, this.keyPos, kind, arg);
    const id = this.#nextCursor++;
    this.#cursors.set(id, { it, lastUsed: this.#clock.now() });
    return id;
  }

  /**
   * Next page of a cursor (at most `limit` items). A finished cursor closes.
   * @throws SuperCacheError `SC_ERR_BAD_CONTINUATION` for an unknown or expired cursor.
   */
  cursorNext(id: number, limit: number): CursorPage {
    const c = this.#cursors.get(id);
    if (c === undefined)
      throw new SuperCacheError('SC_ERR_BAD_CONTINUATION', `cursor ${id} is unknown or expired`);
    c.lastUsed = this.#clock.now();
    const items: Array<readonly [Term, unknown]> = [];
    while (items.length < limit) {
      const r = c.it.next();
      if (r.done === true) {
        this.#cursors.delete(id);
        return { items, done: true };
      }
      items.push(r.value);
    }
    return { items, done: false };
  }

  /** Closes a cursor early; unknown ids are ignored. */
  closeCursor(id: number): void {
    this.#cursors.get(id)?.it.return?.();
    this.#cursors.delete(id);
  }

  /** Closes cursors idle for more than `idleMs`; returns how many. */
  reapCursors(idleMs: number): number {
    const now = this.#clock.now();
    let n = 0;
    for (const [id, c] of this.#cursors) {
      if (now - c.lastUsed > idleMs) {
        this.closeCursor(id);
        n++;
      }
    }
    return n;
  }

  /** Open cursor count (for stats and tests). */
  get openCursors(): number {
    return this.#cursors.size;
  }

  /** Stops every shard's sweep timer and drops cursors. */
  close(): void {
    for (const id of [...this.#cursors.keys()]) this.closeCursor(id);
    for (const t of this.tables) t.close();
  }
}

const NO_CTX: CommandContext = { version: undefined };

function itemFn(
  kind: CursorKind,
  arg: unknown,
  keyPos: number,
): {
  fn: (o: Tuple) => unknown;
  keyBound: boolean;
  key: Term | undefined;
} {
  switch (kind) {
    case 'select':
    case 'selectReverse': {
      const c = compileMatchSpec(arg as MatchSpec, keyPos);
      return {
        fn: (o) => {
          const r = c.run(o);
          return r === NO_MATCH ? undefined : r;
        },
        keyBound: c.keyBound,
        key: c.key,
      };
    }
    case 'match': {
      const c = compilePattern(arg as Pattern, keyPos);
      return { fn: (o) => c.match(o), keyBound: c.keyBound, key: c.key };
    }
    case 'matchObject': {
      const c = compilePattern(arg as Pattern, keyPos);
      return { fn: (o) => (c.test(o) ? o : undefined), keyBound: c.keyBound, key: c.key };
    }
    case 'objects':
      return { fn: (o) => o, keyBound: false, key: undefined };
    default:
      throw new SuperCacheError('SC_ERR_BAD_ARG', `unknown cursor kind ${String(kind)}`);
  }
}

function* tableItems(
  t: Table,
  keyPos: number,
  f: ReturnType<typeof itemFn>,
  reverse: boolean,
): Generator<readonly [Term, unknown]> {
  const source: Iterable<Entry> = f.keyBound ? t.lookupEntries(f.key as Term) : t.entries();
  if (reverse) {
    const all = [...source];
    for (let i = all.length - 1; i >= 0; i--) {
      const o = (all[i] as Entry).obj;
      const r = f.fn(o);
      if (r !== undefined) yield [o[keyPos] as Term, r];
    }
    return;
  }
  for (const e of source) {
    const r = f.fn(e.obj);
    if (r !== undefined) yield [e.obj[keyPos] as Term, r];
  }
}

/**
 * Lazily walks the tables: concatenated for unordered types, merged by key
 * (term order) for `ordered_set`.
 */
export function cursorIterator(
  tables: readonly Table[],
  type: TableType,
  keyPos: number,
  kind: CursorKind,
  arg: unknown,
): Generator<readonly [Term, unknown]> {
  // Compiled now, not at the first page: an unknown kind or a bad pattern
  // fails the open, before any cursor is allocated.
  return walkTables(tables, type, keyPos, kind, itemFn(kind, arg, keyPos));
}

function* walkTables(
  tables: readonly Table[],
  type: TableType,
  keyPos: number,
  kind: CursorKind,
  f: ReturnType<typeof itemFn>,
): Generator<readonly [Term, unknown]> {
  // Only an ordered_set has a key order to reverse (ETS select_reverse).
  const reverse = kind === 'selectReverse' && type === 'ordered_set';
  if (type !== 'ordered_set') {
    for (const t of tables) yield* tableItems(t, keyPos, f, reverse);
    return;
  }
  yield* mergeIterators(
    tables.map((t) => tableItems(t, keyPos, f, reverse)),
    reverse,
  );
}

/** Lazily merges iterators of `[key, item]` sorted by key. */
export function* mergeIterators(
  its: Array<Iterator<readonly [Term, unknown]>>,
  reverse = false,
): Generator<readonly [Term, unknown]> {
  const heads: Array<readonly [Term, unknown] | undefined> = its.map((it) => {
    const r = it.next();
    return r.done === true ? undefined : r.value;
  });
  const sign = reverse ? -1 : 1;
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h === undefined) continue;
      if (best === -1 || sign * compareTerms(h[0], (heads[best] as readonly [Term, unknown])[0]) < 0)
        best = i;
    }
    if (best === -1) return;
    yield heads[best] as readonly [Term, unknown];
    const r = (its[best] as Iterator<readonly [Term, unknown]>).next();
    heads[best] = r.done === true ? undefined : r.value;
  }
}
