/**
 * The one error class of SuperCache, with stable string codes.
 *
 * Every error any @supercache package throws is a {@link SuperCacheError}
 * (or a subclass that carries extra fields). Detection works across
 * duplicate installs through a symbol brand rather than `instanceof`.
 */

const BRAND = Symbol.for('supercache.error');

/**
 * Stable error codes. The table in `docs/errors.md` gives each one's meaning,
 * its HTTP status on the peer protocol and whether it is retryable.
 */
export type ErrorCode =
  | 'SC_ERR_BAD_ARG'
  | 'SC_ERR_INVALID_TERM'
  | 'SC_ERR_TUPLE_TOO_SHORT'
  | 'SC_ERR_NOT_FOUND'
  | 'SC_ERR_BAD_MATCH_SPEC'
  | 'SC_ERR_BAD_CONTINUATION'
  | 'SC_ERR_KEY_EXISTS'
  | 'SC_ERR_BAD_COUNTER'
  | 'SC_ERR_KEY_UPDATE'
  | 'SC_ERR_WRONG_TABLE_TYPE'
  | 'SC_ERR_TOO_LARGE'
  | 'SC_ERR_NOT_STARTED'
  | 'SC_ERR_ALREADY_STARTED'
  | 'SC_ERR_STOPPED'
  | 'SC_ERR_BAD_CONFIG'
  | 'SC_ERR_NAME_TAKEN'
  | 'SC_ERR_NO_TABLE'
  | 'SC_ERR_PARTITION_MISMATCH'
  | 'SC_ERR_CONFIG_MISMATCH'
  | 'SC_ERR_STRUCT_NOT_INITIALIZED'
  | 'SC_ERR_BAD_STRUCT'
  | 'SC_ERR_BUFFER_STOPPED'
  | 'SC_ERR_BUFFER_FULL'
  | 'SC_ERR_UNAUTHORIZED'
  | 'SC_ERR_PAYLOAD_TOO_LARGE'
  | 'SC_ERR_BAD_REQUEST'
  | 'SC_ERR_UNKNOWN_METHOD'
  | 'SC_ERR_STALE_EPOCH'
  | 'SC_ERR_NOT_OWNER'
  | 'SC_ERR_PEER_UNAVAILABLE'
  | 'SC_ERR_TIMEOUT'
  | 'SC_ERR_QUORUM_TIMEOUT'
  | 'SC_ERR_ABORTED'
  | 'SC_ERR_HANDOFF'
  | 'SC_ERR_INTERNAL';

/** Options accepted by {@link SuperCacheError}'s constructor. */
export interface SuperCacheErrorOptions {
  /** The error this one wraps. */
  cause?: unknown;
  /** Whether the same call may succeed if retried. @defaultValue false */
  retryable?: boolean;
  /** Structured details (field names, values) that help the caller. */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * Base error of every SuperCache package.
 *
 * @example
 * ```ts
 * try { table.lookupElement('missing', 1) }
 * catch (e) { if (SuperCacheError.is(e) && e.code === 'SC_ERR_NOT_FOUND') ... }
 * ```
 */
export class SuperCacheError extends Error {
  /** Stable, documented code; match on this, never on the message. */
  readonly code: ErrorCode;
  /** True when the same operation may succeed if retried unchanged. */
  readonly retryable: boolean;
  /** Structured details, when the failure has any. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: SuperCacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SuperCacheError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /**
   * True for any SuperCache error, even one created by another copy of the
   * package (checked by a global symbol brand, not by `instanceof`).
   */
  static is(value: unknown): value is SuperCacheError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [BRAND]?: unknown })[BRAND] === true &&
      typeof (value as { code?: unknown }).code === 'string'
    );
  }

  /** Plain JSON form, used on the wire and in logs. */
  toJSON(): { name: string; code: ErrorCode; message: string; retryable: boolean; details?: unknown } {
    const out: { name: string; code: ErrorCode; message: string; retryable: boolean; details?: unknown } = {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
    };
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

/** Shorthand for `new SuperCacheError('SC_ERR_BAD_ARG', message)`. */
export function badArg(message: string, details?: Record<string, unknown>): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_ARG', message, details === undefined ? {} : { details });
}
