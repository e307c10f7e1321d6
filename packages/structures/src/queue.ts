/**
 * Queue: a named FIFO queue on the system table. Every record of one queue
 * is routed by `['q', name]`, so the whole queue lives on one shard and each
 * operation is one synchronous command there.
 */

import type { TableRouter } from '@supercache/router';
import { assertTerm, type Term, type Tuple } from '@supercache/storage';
import { checkName, checkRouter } from './internal.js';
import { queueMeta } from './layout.js';
import { checkRead, checkWrite, type StructureReadOptions, type StructureWriteOptions } from './options.js';

/**
 * A named FIFO queue. Operations are atomic on the queue's owner: any
 * number of concurrent `add` and `out` calls hand out every value exactly
 * once, oldest first.
 *
 * @typeParam V - value type.
 *
 * @example
 * ```ts
 * const jobs = new Queue<string>(systemRouter, 'jobs');
 * await jobs.add('process_order_1');
 * await jobs.add('process_order_2');
 * await jobs.out(); // 'process_order_1'
 * await jobs.peek(); // 'process_order_2'
 * ```
 */
export class Queue<V extends Term = Term> {
  /** The routed system table. */
  readonly router: TableRouter;
  /** This queue's name. */
  readonly name: Term;
  readonly #pd: Tuple;

  /**
   * Opens a queue (nothing is written until the first `add`).
   * @param router - a router over a `set` or `ordered_set` table with keyPos
   *   0 whose registry has the structures' commands.
   * @param name - the queue's name: any term.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `name` is not a term;
   *   `SC_ERR_WRONG_TABLE_TYPE` for a bag table; `SC_ERR_BAD_CONFIG` for a
   *   router keyed elsewhere than position 0 or without the commands.
   */
  constructor(router: TableRouter, name: Term) {
    checkRouter(router, 'Queue', 'queue.add', true);
    this.router = router;
    this.name = checkName(name);
    this.#pd = queueMeta(this.name);
  }

  #exec(
    command: string,
    args: readonly unknown[],
    options: StructureReadOptions | StructureWriteOptions | undefined,
  ): Promise<unknown> {
    return this.router.backend.exec(this.#pd, command, args, options);
  }

  /**
   * Appends `value` at the tail; resolves with the queue's new length.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `value` is not a term.
   */
  async add(value: V, options?: StructureWriteOptions): Promise<number> {
    checkWrite('Queue.add', options);
    assertTerm(value, 'value');
    return (await this.#exec('queue.add', [this.name, value], options)) as number;
  }

  /**
   * Removes and resolves with the oldest value, or `defaultValue` when the
   * queue is empty.
   */
  out(): Promise<V | undefined>;
  out<D>(defaultValue: D, options?: StructureWriteOptions): Promise<V | D>;
  async out<D>(defaultValue?: D, options?: StructureWriteOptions): Promise<V | D | undefined> {
    checkWrite('Queue.out', options);
    const r = (await this.#exec('queue.out', [this.name], options)) as V[];
    return r.length === 0 ? defaultValue : (r[0] as V);
  }

  /** The oldest value without removing it, or `defaultValue` when empty. */
  peek(): Promise<V | undefined>;
  peek<D>(defaultValue: D, options?: StructureReadOptions): Promise<V | D>;
  async peek<D>(defaultValue?: D, options?: StructureReadOptions): Promise<V | D | undefined> {
    checkRead('Queue.peek', options);
    const r = (await this.#exec('queue.peek', [this.name], options)) as V[];
    return r.length === 0 ? defaultValue : (r[0] as V);
  }

  /** Alias of {@link Queue.peek}, under the seed library's spelling. */
  peak(): Promise<V | undefined>;
  peak<D>(defaultValue: D, options?: StructureReadOptions): Promise<V | D>;
  peak<D>(defaultValue?: D, options?: StructureReadOptions): Promise<V | D | undefined> {
    return this.peek(defaultValue as D, options);
  }

  /** Number of values in the queue. */
  async count(options?: StructureReadOptions): Promise<number> {
    checkRead('Queue.count', options);
    return (await this.#exec('queue.count', [this.name], options)) as number;
  }

  /**
   * Removes every value and resolves with them, oldest first (the seed's
   * `get_all`: it drains the queue). Atomic: no value is both returned here
   * and by a concurrent `out`.
   */
  async getAll(options?: StructureWriteOptions): Promise<V[]> {
    checkWrite('Queue.getAll', options);
    return (await this.#exec('queue.drain', [this.name], options)) as V[];
  }

  /** Removes every value; resolves with how many there were. */
  async clear(options?: StructureWriteOptions): Promise<number> {
    checkWrite('Queue.clear', options);
    return (await this.#exec('queue.clear', [this.name], options)) as number;
  }
}
