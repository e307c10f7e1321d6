/**
 * The one table that maps SuperCache error codes to HTTP statuses on the
 * peer protocol. The server's error handler reads it; the client falls back
 * on {@link errorForHttpStatus} only when a response carries no decodable
 * error body (a proxy's 502, say). `docs/errors.md` lists it.
 */

import { type ErrorCode, SuperCacheError } from '@supercache/storage';

/**
 * HTTP status of every error code on the peer protocol. A code missing from
 * the table (one added later) maps to 500.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  SC_ERR_BAD_ARG: 400,
  SC_ERR_INVALID_TERM: 400,
  SC_ERR_TUPLE_TOO_SHORT: 400,
  SC_ERR_BAD_MATCH_SPEC: 400,
  SC_ERR_BAD_CONTINUATION: 400,
  SC_ERR_BAD_COUNTER: 400,
  SC_ERR_KEY_UPDATE: 400,
  SC_ERR_WRONG_TABLE_TYPE: 400,
  SC_ERR_BAD_STRUCT: 400,
  SC_ERR_BAD_REQUEST: 400,
  SC_ERR_CLOCK_SKEW: 400,
  SC_ERR_UNAUTHORIZED: 401,
  SC_ERR_FORBIDDEN: 403,
  SC_ERR_NOT_FOUND: 404,
  SC_ERR_NO_TABLE: 404,
  SC_ERR_UNKNOWN_METHOD: 404,
  SC_ERR_STRUCT_NOT_INITIALIZED: 404,
  SC_ERR_KEY_EXISTS: 409,
  SC_ERR_CONFLICT: 409,
  SC_ERR_NAME_TAKEN: 409,
  SC_ERR_NOT_OWNER: 409,
  SC_ERR_STALE_EPOCH: 409,
  SC_ERR_PARTITION_MISMATCH: 409,
  SC_ERR_CONFIG_MISMATCH: 409,
  SC_ERR_HANDOFF: 409,
  SC_ERR_TOO_LARGE: 413,
  SC_ERR_PAYLOAD_TOO_LARGE: 413,
  SC_ERR_LIMIT: 429,
  SC_ERR_BAD_CONFIG: 500,
  SC_ERR_ALREADY_STARTED: 500,
  SC_ERR_INTERNAL: 500,
  SC_ERR_NOT_STARTED: 503,
  SC_ERR_STOPPED: 503,
  SC_ERR_PEER_UNAVAILABLE: 503,
  SC_ERR_TLS: 503,
  SC_ERR_BUFFER_STOPPED: 503,
  SC_ERR_BUFFER_FULL: 503,
  SC_ERR_TIMEOUT: 504,
  SC_ERR_QUORUM_TIMEOUT: 504,
  SC_ERR_NO_QUORUM: 503,
});

/** The HTTP status the peer protocol uses for `code` (500 when not in the table). */
export function httpStatusOf(code: string): number {
  return HTTP_STATUS_BY_CODE[code as ErrorCode] ?? 500;
}

/**
 * The error a client reports for a non-2xx response whose body is not a
 * SuperCache error (an intermediary answered, or the body was cut).
 */
export function errorForHttpStatus(status: number, peer: string): SuperCacheError {
  const details = { peer, status };
  if (status === 403) {
    return new SuperCacheError('SC_ERR_FORBIDDEN', `peer ${peer} refused the request (HTTP 403)`, {
      details,
    });
  }
  if (status === 401) {
    return new SuperCacheError(
      'SC_ERR_UNAUTHORIZED',
      `peer ${peer} refused the credentials (HTTP ${status})`,
      {
        details,
      },
    );
  }
  if (status === 413) {
    return new SuperCacheError('SC_ERR_PAYLOAD_TOO_LARGE', `peer ${peer} refused the body size (HTTP 413)`, {
      details,
    });
  }
  if (status === 502 || status === 503) {
    return new SuperCacheError('SC_ERR_PEER_UNAVAILABLE', `peer ${peer} is unavailable (HTTP ${status})`, {
      retryable: true,
      details,
    });
  }
  if (status === 504 || status === 408) {
    return new SuperCacheError('SC_ERR_TIMEOUT', `peer ${peer} timed out (HTTP ${status})`, {
      retryable: true,
      details,
    });
  }
  if (status >= 400 && status < 500) {
    return new SuperCacheError('SC_ERR_BAD_REQUEST', `peer ${peer} rejected the request (HTTP ${status})`, {
      details,
    });
  }
  return new SuperCacheError('SC_ERR_INTERNAL', `peer ${peer} failed (HTTP ${status})`, { details });
}
