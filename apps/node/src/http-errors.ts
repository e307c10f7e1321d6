/**
 * The one error handler of the JSON client API: every failure becomes
 * `{ "error": { "code", "message", "retryable", "details"? } }` with the
 * HTTP status the cluster package's `HTTP_STATUS_BY_CODE` table gives its
 * code. The peer routes keep their own MessagePack error handler.
 */

import { httpStatusOf } from '@supercache/cluster';
import { SuperCacheError } from '@supercache/storage';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { termToJson } from './json-terms.js';

/** The JSON error body of the client API. */
export interface JsonErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly retryable: boolean;
    readonly details?: unknown;
  };
}

/**
 * Turns whatever reached the error handler into a SuperCacheError: Fastify's
 * validation and parsing errors become `SC_ERR_BAD_REQUEST`, a body over the
 * limit `SC_ERR_PAYLOAD_TOO_LARGE`, anything unknown `SC_ERR_INTERNAL`.
 */
export function toSuperCacheError(error: unknown): SuperCacheError {
  if (SuperCacheError.is(error)) return error;
  const fe = error as Partial<FastifyError> | undefined;
  const message = fe?.message ?? String(error);
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe?.statusCode === 413) {
    return new SuperCacheError('SC_ERR_PAYLOAD_TOO_LARGE', message, { cause: error });
  }
  if (fe?.validation !== undefined) {
    return new SuperCacheError('SC_ERR_BAD_REQUEST', message, {
      cause: error,
      details: { validation: fe.validation.map((v) => ({ path: v.instancePath, message: v.message })) },
    });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new SuperCacheError('SC_ERR_BAD_REQUEST', message, { cause: error });
  }
  return new SuperCacheError('SC_ERR_INTERNAL', message, { cause: error });
}

/** The JSON body of an error; `details` is kept only when it is plain data. */
export function errorBody(error: SuperCacheError): JsonErrorBody {
  const body: { code: string; message: string; retryable: boolean; details?: unknown } = {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
  };
  if (
    error.details !== undefined &&
    error.code !== 'SC_ERR_NOT_OWNER' &&
    error.code !== 'SC_ERR_STALE_EPOCH'
  ) {
    try {
      body.details = termToJson(error.details);
    } catch {
      // details that do not serialize are left out
    }
  }
  return { error: body };
}

/** The client API's error handler (registered once, on the root app). */
export function jsonErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const failure = toSuperCacheError(error);
  const status = httpStatusOf(failure.code);
  if (status >= 500) request.log.error({ err: error }, failure.message);
  else request.log.debug({ code: failure.code }, failure.message);
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(failure));
}
