/**
 * Commands: every table operation is a named, serializable command that runs
 * synchronously against storage tables on the node that owns them.
 *
 * A command is the unit the router moves. In one process it is a direct
 * call; in a cluster it travels to the owner in one peer call and runs there
 * in one synchronous step, which is what makes `Queue.out` or
 * `KeyValue.increment` atomic without locks.
 *
 * Two scopes:
 * - `shard` commands run on the one table that owns a partition
 *   (single-key operations);
 * - `node` commands run once per node over every table that node owns
 *   (fan-out operations); their per-node results are merged by the router
 *   with the same merge function that merged the node's own tables.
 */

import {
  compareTerms,
  type InsertOptions,
  SuperCacheError,
  type Table,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';

/** What a command knows about the call it serves. */
export interface CommandContext {
  /**
   * Version to stamp on objects this command writes (a hybrid logical clock
   * timestamp in cluster mode; `undefined` in local mode).
   */
  readonly version: string | undefined;
  /** Records a key this command changed (used for handoff deltas). */
  readonly touched?: (table: Table, key: Term) => void;
}

/** A command that runs on the single table owning a partition. */
export interface ShardCommand {
  readonly scope: 'shard';
  /** True when the command may change the table. */
  readonly write: boolean;
  run(table: Table, args: readonly unknown[], ctx: CommandContext): unknown;
}

/** A command that runs once per node over all the tables it owns. */
export interface NodeCommand {
  readonly scope: 'node';
  readonly write: boolean;
  run(tables: readonly Table[], args: readonly unknown[], ctx: CommandContext): unknown;
  /** Merges per-node results into one (also used across a node's tables). */
  merge(results: unknown[], args: readonly unknown[], info: { type: TableType }): unknown;
}

/** Any command. */
export type Command = ShardCommand | NodeCommand;

/**
 * A named set of commands. Each router and each cluster node holds one; the
 * structures package registers its own commands into it.
 */
export class CommandRegistry {
  readonly #commands = new Map<string, Command>();

  /**
   * Registers a command. Names are global to a registry.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when the name is taken by a different command.
   */
  register(name: string, command: Command): this {
    const existing = this.#commands.get(name);
    if (existing !== undefined && existing !== command) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', `command ${name} is already registered`);
    }
    this.#commands.set(name, command);
    return this;
  }

  /** Registers every command of a record. */
  registerAll(commands: Readonly<Record<string, Command>>): this {
    for (const [name, c] of Object.entries(commands)) this.register(name, c);
    return this;
  }

  /**
   * The command of that name.
   * @throws SuperCacheError `SC_ERR_BAD_REQUEST` for an unknown name.
   */
  get(name: string): Command {
    const c = this.#commands.get(name);
    if (c === undefined) throw new SuperCacheError('SC_ERR_BAD_REQUEST', `unknown command ${name}`);
    return c;
  }

  /** True when a command of that name exists. */
  has(name: string): boolean {
    return this.#commands.has(name);
  }
}

// ---------------------------------------------------------------------------
// helpers

/** Writes objects stamped with the context's version, honouring an optional ttl. */
export function writeObjects(
  table: Table,
  objs: readonly Tuple[],
  ttl: number | undefined,
  ctx: CommandContext,
): void {
  const opts: InsertOptions = {};
  if (ttl !== undefined) opts.ttl = ttl;
  if (ctx.version !== undefined) opts.version = ctx.version;
  table.insertMany(objs, opts);
  if (ctx.touched !== undefined) {
    const keyPos = table.info().keyPos;
    for (const o of objs) ctx.touched(table, o[keyPos] as Term);
  }
}

/** Concatenates array results. */
export function concatMerge(results: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const r of results) for (const x of r as unknown[]) out.push(x);
  return out;
}

/** Sums number results. */
export function sumMerge(results: unknown[]): number {
  let n = 0;
  for (const r of results) n += r as number;
  return n;
}

/**
 * Merges lists of `[key, item]` pairs, each sorted by key, into one list
 * sorted by key (term order). Used for `ordered_set` fan-out.
 */
export function mergeKeyed(
  lists: ReadonlyArray<ReadonlyArray<readonly [Term, unknown]>>,
  reverse = false,
): Array<readonly [Term, unknown]> {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return [];
  if (nonEmpty.length === 1) return [...(nonEmpty[0] as ReadonlyArray<readonly [Term, unknown]>)];
  const sign = reverse ? -1 : 1;
  const idx = new Array<number>(nonEmpty.length).fill(0);
  const out: Array<readonly [Term, unknown]> = [];
  for (;;) {
    let best = -1;
    let bestKey: Term = null;
    for (let i = 0; i < nonEmpty.length; i++) {
      const l = nonEmpty[i] as ReadonlyArray<readonly [Term, unknown]>;
      const j = idx[i] as number;
      if (j >= l.length) continue;
      const k = (l[j] as readonly [Term, unknown])[0];
      if (best === -1 || sign * compareTerms(k, bestKey) < 0) {
        best = i;
        bestKey = k;
      }
    }
    if (best === -1) return out;
    const l = nonEmpty[best] as ReadonlyArray<readonly [Term, unknown]>;
    out.push(l[idx[best] as number] as readonly [Term, unknown]);
    idx[best] = (idx[best] as number) + 1;
  }
}
