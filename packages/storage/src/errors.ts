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
  | 'SC_ERR_CONFLICT'
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
  | 'SC_ERR_FORBIDDEN'
  | 'SC_ERR_PAYLOAD_TOO_LARGE'
  | 'SC_ERR_BAD_REQUEST'
  | 'SC_ERR_UNKNOWN_METHOD'
  | 'SC_ERR_STALE_EPOCH'
  | 'SC_ERR_NOT_OWNER'
  | 'SC_ERR_PEER_UNAVAILABLE'
  | 'SC_ERR_TLS'
  | 'SC_ERR_TIMEOUT'
  | 'SC_ERR_QUORUM_TIMEOUT'
  | 'SC_ERR_NO_QUORUM'
  | 'SC_ERR_ABORTED'
  | 'SC_ERR_HANDOFF'
  | 'SC_ERR_CLOCK_SKEW'
  | 'SC_ERR_LIMIT'
  | 'SC_ERR_INTERNAL';

/** What a code means and whether the failed call may succeed if retried. */
export interface ErrorCodeInfo {
  /** One sentence: what went wrong. */
  readonly meaning: string;
  /** True when retrying the same call can succeed. */
  readonly retryable: boolean;
}

/**
 * Every error code with its meaning. `docs/errors.md` is checked against
 * this table by a test; adding a code to {@link ErrorCode} without an entry
 * here is a compile error.
 */
export const ERROR_CODES = Object.freeze({
  SC_ERR_BAD_ARG: {
    meaning: 'An argument or option has the wrong type or is out of range.',
    retryable: false,
  },
  SC_ERR_INVALID_TERM: {
    meaning: 'A value is not a term (undefined, a function, a class instance, a Map, a Date, a cycle…).',
    retryable: false,
  },
  SC_ERR_TUPLE_TOO_SHORT: { meaning: 'A tuple has no element at keyPos or partitionPos.', retryable: false },
  SC_ERR_NOT_FOUND: {
    meaning: 'The key has no object (lookupElement, a missing counter with no default).',
    retryable: false,
  },
  SC_ERR_BAD_MATCH_SPEC: { meaning: 'A match pattern or match spec is malformed.', retryable: false },
  SC_ERR_BAD_CONTINUATION: {
    meaning: 'A paging continuation is unknown, expired, or of another kind.',
    retryable: false,
  },
  SC_ERR_KEY_EXISTS: { meaning: 'The key already exists where a new one was required.', retryable: false },
  SC_ERR_CONFLICT: {
    meaning: 'A read-modify-write lost to concurrent writers of the same key too many times in a row.',
    retryable: true,
  },
  SC_ERR_BAD_COUNTER: {
    meaning: 'updateCounter hit a non-number element, the key position, or a bad position.',
    retryable: false,
  },
  SC_ERR_KEY_UPDATE: { meaning: 'updateElement tried to change the key element.', retryable: false },
  SC_ERR_WRONG_TABLE_TYPE: {
    meaning: 'The operation is not defined for this table type (a counter on a bag…).',
    retryable: false,
  },
  SC_ERR_TOO_LARGE: { meaning: "A single object is larger than the table's maxBytes.", retryable: false },
  SC_ERR_NOT_STARTED: {
    meaning: 'The cache, table or transport is not started (or already stopped).',
    retryable: true,
  },
  SC_ERR_ALREADY_STARTED: {
    meaning: 'The component is already started with other options.',
    retryable: false,
  },
  SC_ERR_STOPPED: { meaning: 'The component stopped while the call was pending.', retryable: true },
  SC_ERR_BAD_CONFIG: {
    meaning: 'An option is invalid or options contradict each other; the message names the field.',
    retryable: false,
  },
  SC_ERR_NAME_TAKEN: {
    meaning: 'A table of that name is already started in this process.',
    retryable: false,
  },
  SC_ERR_NO_TABLE: { meaning: 'No table of that name is started (here or on the peer).', retryable: false },
  SC_ERR_PARTITION_MISMATCH: {
    meaning: 'Two partition maps or nodes disagree on the partition count.',
    retryable: false,
  },
  SC_ERR_CONFIG_MISMATCH: {
    meaning:
      "A node's cluster config differs from the cluster's; the message names the field and both values.",
    retryable: false,
  },
  SC_ERR_STRUCT_NOT_INITIALIZED: {
    meaning: 'A struct store was used before it was initialised.',
    retryable: false,
  },
  SC_ERR_BAD_STRUCT: {
    meaning: 'A struct class, key field or instance is not usable as a struct.',
    retryable: false,
  },
  SC_ERR_BUFFER_STOPPED: { meaning: 'The lazyPut write buffer is stopped.', retryable: false },
  SC_ERR_BUFFER_FULL: { meaning: 'The write buffer and its wait queue are full.', retryable: true },
  SC_ERR_UNAUTHORIZED: {
    meaning: 'A request had no credential, or one that is not valid (a wrong secret, key or token).',
    retryable: false,
  },
  SC_ERR_FORBIDDEN: {
    meaning:
      'A valid credential that may not do this: a client calling a member method, a read-only token writing, a member naming another node as sender, or a member sending a control-plane message the protocol does not allow from it (a view not following from the current one, a handoff or replication message from a non-participant, a join whose address answers for another node).',
    retryable: false,
  },
  SC_ERR_PAYLOAD_TOO_LARGE: { meaning: 'A peer request body is over the size limit.', retryable: false },
  SC_ERR_BAD_REQUEST: {
    meaning: 'A peer request could not be decoded or has the wrong shape.',
    retryable: false,
  },
  SC_ERR_UNKNOWN_METHOD: {
    meaning: 'A peer request named a method this node does not serve.',
    retryable: false,
  },
  SC_ERR_STALE_EPOCH: {
    meaning:
      "A peer request carried a cluster view older than the receiver's, or a write's node was removed from the cluster while the write was under way (it is not tried again; outcome unknown if an attempt was sent).",
    retryable: true,
  },
  SC_ERR_NOT_OWNER: {
    meaning: 'The receiver does not own that data under its view; the reply carries the view.',
    retryable: true,
  },
  SC_ERR_PEER_UNAVAILABLE: {
    meaning: 'A peer could not be reached (refused, reset, killed, partitioned).',
    retryable: true,
  },
  SC_ERR_TLS: {
    meaning:
      'A TLS handshake with a peer failed: a certificate was refused by either side (signed by another CA, issued to another name, missing), or one side does not speak TLS.',
    retryable: false,
  },
  SC_ERR_TIMEOUT: { meaning: 'A peer call took longer than its timeout.', retryable: true },
  SC_ERR_QUORUM_TIMEOUT: { meaning: 'Not enough replicas answered in time.', retryable: true },
  SC_ERR_NO_QUORUM: {
    meaning:
      'This node has not heard from a quorum of its view within its lease (cut off, frozen, or on the minority side of a split), so it does not serve.',
    retryable: true,
  },
  SC_ERR_ABORTED: { meaning: 'The caller aborted the operation through its AbortSignal.', retryable: false },
  SC_ERR_HANDOFF: { meaning: 'Data is moving between nodes and did not settle in time.', retryable: true },
  SC_ERR_CLOCK_SKEW: {
    meaning:
      "A peer's version or clock is further ahead of this node's wall clock than maxClockSkewMs allows; it was refused, not adopted.",
    retryable: false,
  },
  SC_ERR_LIMIT: {
    meaning:
      'A per-client limit was reached (open cursors, a page size over the maximum); close cursors or ask for less.',
    retryable: true,
  },
  SC_ERR_INTERNAL: {
    meaning: 'An unexpected failure inside SuperCache (a bug: please report it).',
    retryable: false,
  },
} satisfies Record<ErrorCode, ErrorCodeInfo>);

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
