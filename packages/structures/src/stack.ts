/**
 * Stack: a named LIFO stack on the system table. Every record of one stack
 * is routed by `['st', name]`, so the whole stack lives on one shard and
 * each operation is one synchronous command there.
 */

import type { TableRouter } from '@supercache/router';
import { assertTerm, type Term, type Tuple } from '@supercache/storage';
import { checkName, checkRouter } from './internal.js';
import { stackMeta } from './layout.js';
import { checkRead, checkWrite, type StructureReadOptions, type StructureWriteOptions } from './options.js';

/**
 * A named LIFO stack. Operations are atomic on the stack's owner: any
 * number of concurrent `push` and `pop` calls hand out every value exactly
 * once.
 *
 * @typeParam V - value type.
 *
 * @example
 * ```ts
 * const history = new Stack<string>(systemRouter, 'history');
 * await history.push('page_a');
 * await history.push('page_b');
 * await history.pop(); // 'page_b'
 * ```
 */
export class Stack<V extends Term = Term> {
  /** The routed system table. */
  readonly router: TableRouter;
  /** This stack's name. */
  readonly name: Term;
  readonly #pd: Tuple;

  /**
   * Opens a stack (nothing is written until the first `push`).
   * @param router - a router over a `set` or `ordered_set` table with keyPos
   *   0 whose registry has the structures' commands.
   * @param name - the stack's name: any term.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `name` is not a term;
   *   `SC_ERR_WRONG_TABLE_TYPE` for a bag table; `SC_ERR_BAD_CONFIG` for a
   *   router keyed elsewhere than position 0 or without the commands.
   */
  constructor(router: TableRouter, name: Term) {
    checkRouter(router, 'Stack', 'stack.push', true);
    this.router = router;
    this.name = checkName(name);
    this.#pd = stackMeta(this.name);
  }

  #exec(
    command: string,
    args: readonly unknown[],
    options: StructureReadOptions | StructureWriteOptions | undefined,
  ): Promise<unknown> {
    return this.router.backend.exec(this.#pd, command, args, options);
  }

  /**
   * Pushes `value` on top; resolves with the stack's new size.
   * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `value` is not a term.
   */
  async push(value: V, options?: StructureWriteOptions): Promise<number> {
    checkWrite('Stack.push', options);
    assertTerm(value, 'value');
    return (await this.#exec('stack.push', [this.name, value], options)) as number;
  }

  /** Removes and resolves with the top value, or `defaultValue` when empty. */
  pop(): Promise<V | undefined>;
  pop<D>(defaultValue: D, options?: StructureWriteOptions): Promise<V | D>;
  async pop<D>(defaultValue?: D, options?: StructureWriteOptions): Promise<V | D | undefined> {
    checkWrite('Stack.pop', options);
    const r = (await this.#exec('stack.pop', [this.name], options)) as V[];
    return r.length === 0 ? defaultValue : (r[0] as V);
  }

  /** The top value without removing it, or `defaultValue` when empty. */
  peek(): Promise<V | undefined>;
  peek<D>(defaultValue: D, options?: StructureReadOptions): Promise<V | D>;
  async peek<D>(defaultValue?: D, options?: StructureReadOptions): Promise<V | D | undefined> {
    checkRead('Stack.peek', options);
    const r = (await this.#exec('stack.peek', [this.name], options)) as V[];
    return r.length === 0 ? defaultValue : (r[0] as V);
  }

  /** Number of values on the stack. */
  async count(options?: StructureReadOptions): Promise<number> {
    checkRead('Stack.count', options);
    return (await this.#exec('stack.count', [this.name], options)) as number;
  }

  /**
   * Removes every value and resolves with them, top first, in local and
   * distributed mode alike (the seed returned bottom first when
   * distributed; this does not). Atomic.
   */
  async getAll(options?: StructureWriteOptions): Promise<V[]> {
    checkWrite('Stack.getAll', options);
    return (await this.#exec('stack.drain', [this.name], options)) as V[];
  }

  /** Removes every value; resolves with how many there were. */
  async clear(options?: StructureWriteOptions): Promise<number> {
    checkWrite('Stack.clear', options);
    return (await this.#exec('stack.clear', [this.name], options)) as number;
  }
}
