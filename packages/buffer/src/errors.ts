/**
 * The error class of `@supercache/buffer`.
 *
 * The buffer depends on no other package, so it cannot extend the shared
 * `SuperCacheError`. It carries the same shape instead (a stable `code`, a
 * `retryable` flag, `cause`, `details`) and the same global symbol brand, so
 * `SuperCacheError.is()` in the other packages recognises it.
 */

/** Brand shared by every SuperCache error; checked instead of `instanceof`. */
const BRAND = Symbol.for('supercache.error');
/** Second brand, so {@link BufferError.is} does not accept other packages' errors. */
const BUFFER_BRAND = Symbol.for('supercache.buffer.error');

/**
 * Stable codes a {@link BufferError} can carry. Match on these, never on the
 * message.
 *
 * - `SC_ERR_BAD_ARG`: an option or argument is invalid (not retryable).
 * - `SC_ERR_BUFFER_STOPPED`: the buffer is stopping or stopped and refuses
 *   new items (not retryable until `start()` is called).
 * - `SC_ERR_BUFFER_FULL`: the buffer is full and `maxWaiting` pushes are
 *   already waiting for room (retryable: try again later).
 * - `SC_ERR_ABORTED`: the caller's `AbortSignal` fired before the operation
 *   completed (not retryable with the same signal).
 */
export type BufferErrorCode =
  | 'SC_ERR_BAD_ARG'
  | 'SC_ERR_BUFFER_STOPPED'
  | 'SC_ERR_BUFFER_FULL'
  | 'SC_ERR_ABORTED';

/** Options accepted by {@link BufferError}'s constructor. */
export interface BufferErrorOptions {
  /** The error this one wraps (for example an `AbortSignal`'s reason). */
  cause?: unknown;
  /**
   * Whether the same call may succeed if retried unchanged.
   * @defaultValue `false`
   */
  retryable?: boolean;
  /** Structured details (option names, limits) that help the caller. */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * Error thrown or rejected by {@link WriteBuffer}.
 *
 * Carries the `Symbol.for('supercache.error')` brand, so the other packages'
 * `SuperCacheError.is()` accepts it, and works across duplicate installs.
 *
 * @example
 * ```ts
 * try { buffer.push(item) }
 * catch (e) { if (BufferError.is(e) && e.code === 'SC_ERR_BUFFER_STOPPED') ... }
 * ```
 */
export class BufferError extends Error {
  /** Stable, documented code; match on this, never on the message. */
  readonly code: BufferErrorCode;
  /** True when the same operation may succeed if retried unchanged. */
  readonly retryable: boolean;
  /** Structured details, when the failure has any. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  /**
   * @param code - the stable code.
   * @param message - a human-readable message; not part of the contract.
   * @param options - cause, retryable flag and details.
   */
  constructor(code: BufferErrorCode, message: string, options: BufferErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BufferError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
    Object.defineProperty(this, BUFFER_BRAND, { value: true, enumerable: false });
  }

  /**
   * True for any {@link BufferError}, even one created by another copy of
   * this package (checked by a global symbol brand, not by `instanceof`).
   *
   * @param value - anything.
   */
  static is(value: unknown): value is BufferError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [BUFFER_BRAND]?: unknown })[BUFFER_BRAND] === true &&
      (value as { [BRAND]?: unknown })[BRAND] === true &&
      typeof (value as { code?: unknown }).code === 'string'
    );
  }

  /** Plain JSON form, the same shape as the other packages' errors. */
  toJSON(): { name: string; code: BufferErrorCode; message: string; retryable: boolean; details?: unknown } {
    const out: {
      name: string;
      code: BufferErrorCode;
      message: string;
      retryable: boolean;
      details?: unknown;
    } = {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}
