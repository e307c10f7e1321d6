/**
 * The per-call options of the structures and their checks. A read takes
 * `signal` and `readMode` (which copy answers, passed to the backend as
 * `ExecOptions.readMode`); a write takes `signal`, plus `ttl` where it
 * writes a KeyValue record. Every bag is checked like the constructors'
 * options: an unknown or mistyped option rejects with `SC_ERR_BAD_ARG`
 * naming it (an unknown `readMode` included), before anything is sent.
 */

import { checkCallOptions, READ_SHAPE, type ReadMode, ROUTE_SHAPE, WRITE_SHAPE } from '@supercache/router';

/** Options of a structure read (`get`, `keys`, `peek`, `count`, …). */
export interface StructureReadOptions {
  /** Aborts the call (`SC_ERR_ABORTED`). */
  signal?: AbortSignal;
  /**
   * Which copy answers in distributed mode: `'local'`, `'primary'` or
   * `'quorum'` (see the router's `ReadMode`). One process holds one copy,
   * so all three read it. @defaultValue the backend's (`'primary'`)
   */
  readMode?: ReadMode;
}

/** Options of a structure write (`add`, `out`, `pop`, `remove`, …): no `readMode`. */
export interface StructureWriteOptions {
  /** Aborts the call (`SC_ERR_ABORTED`). */
  signal?: AbortSignal;
}

/**
 * Checks a read's options.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` naming a bad or unknown option.
 */
export function checkRead(op: string, options: unknown): void {
  if (options !== undefined) checkCallOptions(op, options, READ_SHAPE);
}

/**
 * Checks a write's options (`signal` only).
 * @throws SuperCacheError `SC_ERR_BAD_ARG` naming a bad or unknown option
 *   (`readMode` included: a write always goes to the primary).
 */
export function checkWrite(op: string, options: unknown): void {
  if (options !== undefined) checkCallOptions(op, options, ROUTE_SHAPE);
}

/**
 * Checks the options of a write that takes a `ttl`.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` naming a bad or unknown option.
 */
export function checkTtlWrite(op: string, options: unknown): void {
  if (options !== undefined) checkCallOptions(op, options, WRITE_SHAPE);
}
