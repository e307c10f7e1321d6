/**
 * The backend contract: where commands run. A {@link LocalBackend} runs
 * them on this process's shards; the cluster package's backend routes them
 * to owner nodes. The {@link TableRouter} is written once against it.
 */

import { SuperCacheError, type TableType, type Term } from '@supercache/storage';
import type { ReadMode } from './call-options.js';
import type { CommandContext } from './commands.js';
import { copyArgs, copyData } from './copy.js';
import type { CursorKind, CursorPage, ShardSet } from './shard-set.js';

/** Options of one routed operation. */
export interface RouteOptions {
  /** Aborts the operation (`SC_ERR_ABORTED`). */
  signal?: AbortSignal;
  /**
   * Where a read is served (cluster backends; one process has one copy):
   * `'primary'` (default) the partition's primary; `'local'` this node's
   * copy when it holds one, else the primary; `'quorum'` a majority of the
   * copies, answering with the newest.
   */
  readMode?: ReadMode;
}

/**
 * What a backend receives with every command: the routing options, and for
 * a read the copy that should answer it. The facades validate these before
 * they call (see `checkCallOptions`); a backend only reads them.
 */
export interface ExecOptions extends RouteOptions {
  /**
   * Which copy answers a read (see {@link ReadMode}). A cluster backend may
   * act on it; {@link LocalBackend} holds the one copy, so it ignores it.
   * Writes never carry it. @defaultValue 'primary'
   */
  readMode?: ReadMode;
}

/** A cursor spanning every node of a backend; pages arrive in order. */
export interface BackendCursor {
  /** Up to `limit` more `[key, item]` pairs; `done` once nothing follows. */
  next(limit: number, options?: RouteOptions): Promise<CursorPage>;
  /** Releases server-side state early; idempotent. */
  close(): Promise<void>;
}

/** Where commands run. */
export interface Backend {
  /** Table type (drives merges). */
  readonly type: TableType;
  /** Key position of every tuple. */
  readonly keyPos: number;
  /** Runs a shard command on the shard owning `partitionData`. */
  exec(partitionData: Term, name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown>;
  /** Runs a node command on every node and merges the results. */
  broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown>;
  /** Opens a cursor over every node (`options.readMode` as for `exec`). */
  openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor>;
  /**
   * This node's own shards, for synchronous hot-path reads (`cache.local`),
   * with the function that picks the shard for some partition data.
   */
  readonly local: LocalAccess;
}

/** Synchronous access to this node's copy. */
export interface LocalAccess {
  readonly shards: ShardSet;
  /** The shard index on this node for partition data (may not be owned here in a cluster). */
  shardOf(partitionData: Term): number;
  /** Shard indexes whose data this node currently serves. */
  ownedShards(): readonly number[];
}

/** Options of {@link LocalBackend}. */
export interface LocalBackendOptions {
  readonly shards: ShardSet;
  /** Maps partition data to a shard index in `[0, shards.shardCount)`. */
  readonly shardOf: (partitionData: Term) => number;
  /**
   * Copy the data crossing the backend — the arguments going in, the
   * results and cursor pages coming out — so a caller never shares an array
   * with a table, as over the wire. Done synchronously, with the command, so
   * it costs no extra promise. @defaultValue false
   */
  readonly copy?: boolean;
}

/** The `SC_ERR_ABORTED` error for an aborted signal (its reason as `cause`). */
export function abortError(signal: AbortSignal): SuperCacheError {
  return new SuperCacheError('SC_ERR_ABORTED', 'operation aborted', { cause: signal.reason });
}

/**
 * Throws `SC_ERR_ABORTED` when `signal` is aborted; every backend checks
 * this before it starts an operation.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw abortError(signal);
}

const LOCAL_CTX: CommandContext = { version: undefined };

/**
 * Runs every command in this process, on the one copy there is: every
 * `readMode` reads it, so the option is accepted and ignored.
 */
export class LocalBackend implements Backend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly #shards: ShardSet;
  readonly #shardOf: (pd: Term) => number;
  readonly #all: readonly number[];
  readonly #copy: boolean;

  constructor(options: LocalBackendOptions) {
    this.#copy = options.copy === true;
    this.#shards = options.shards;
    this.#shardOf = options.shardOf;
    this.type = options.shards.type;
    this.keyPos = options.shards.keyPos;
    this.#all = options.shards.tables.map((_t, i) => i);
    const all = this.#all;
    this.local = { shards: options.shards, shardOf: options.shardOf, ownedShards: () => all };
  }

  /** The arguments a command runs with: copied when the backend copies. */
  #in(args: readonly unknown[]): readonly unknown[] {
    return this.#copy ? copyArgs(args) : args;
  }

  /** Runs `fn` now, as a settled promise: local commands are synchronous. */
  #now(options: RouteOptions | undefined, fn: () => unknown): Promise<unknown> {
    try {
      throwIfAborted(options?.signal);
      return Promise.resolve(this.#copy ? copyData(fn()) : fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  exec(partitionData: Term, name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    // #now inlined: this is every async single-key call of a local cache.
    try {
      throwIfAborted(options?.signal);
      const r = this.#shards.runShard(this.#shardOf(partitionData), name, this.#in(args), LOCAL_CTX);
      return Promise.resolve(this.#copy ? copyData(r) : r);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs a shard command on shard `partition` (an index, not partition data). */
  execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    return this.#now(options, () => this.#shards.runShard(partition, name, this.#in(args), LOCAL_CTX));
  }

  broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    return this.#now(options, () => this.#shards.runNode(name, this.#in(args), LOCAL_CTX));
  }

  /** Runs a node command over the given shard indexes only, merged as `broadcast` merges. */
  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: ExecOptions,
  ): Promise<unknown> {
    return this.#now(options, () => this.#shards.runNode(name, this.#in(args), LOCAL_CTX, partitions));
  }

  async openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor> {
    throwIfAborted(options?.signal);
    const shards = this.#shards;
    const id = shards.openCursor(kind, this.#copy ? copyData(arg) : arg);
    const copy = this.#copy;
    let open = true;
    return {
      next: async (limit, o) => {
        throwIfAborted(o?.signal);
        if (!open) return { items: [], done: true };
        const page = shards.cursorNext(id, limit);
        if (page.done) open = false;
        return copy ? { items: copyData(page.items), done: page.done } : page;
      },
      close: async () => {
        if (open) shards.closeCursor(id);
        open = false;
      },
    };
  }
}
