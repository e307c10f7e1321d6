/**
 * The peer routes as a Fastify plugin, to mount in any Fastify app (the
 * {@link HttpTransport} mounts it in its own server when given `listen`).
 *
 * The plugin is encapsulated: its content-type parser, auth hook and error
 * handler apply to its own routes only and leave the host app alone.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { SuperCacheError } from '@supercache/storage';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encode } from './codec.js';
import { httpStatusOf } from './http-status.js';
import {
  encodeError,
  MAX_CALLS_PER_BATCH,
  MSGPACK_CONTENT_TYPE,
  NODE_HEADER,
  PEER_ROUTES,
  type PeerEndpoint,
  parseBatchRequest,
  parseCallRequest,
  serveBatch,
  serveCall,
} from './protocol.js';

/** Options of {@link supercachePeerPlugin}. */
export interface PeerPluginOptions {
  /** Where calls are dispatched: usually an {@link HttpTransport}. */
  transport: PeerEndpoint;
  /**
   * The cluster secret. Requests must carry `authorization: Bearer <secret>`;
   * any other request gets 401 `SC_ERR_UNAUTHORIZED` before its body is read.
   */
  secret: string;
  /**
   * Largest request body in bytes; larger ones get 413
   * `SC_ERR_PAYLOAD_TOO_LARGE` and are not read further.
   * @defaultValue 8388608 (8 MiB)
   */
  bodyLimit?: number;
  /** Most calls accepted in one batch. @defaultValue 4096 */
  maxBatchCalls?: number;
}

/** Default body limit of the peer routes (8 MiB). */
export const DEFAULT_BODY_LIMIT: number = 8 * 1024 * 1024;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Wraps an encoded body for `reply.send` without copying. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Turns whatever reached the error handler into a SuperCacheError. */
function toSuperCacheError(error: unknown): SuperCacheError {
  if (SuperCacheError.is(error)) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  const status = fastifyError?.statusCode;
  const message = fastifyError?.message ?? String(error);
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return new SuperCacheError('SC_ERR_PAYLOAD_TOO_LARGE', message, { cause: error });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new SuperCacheError('SC_ERR_BAD_REQUEST', message, { cause: error });
  }
  return new SuperCacheError('SC_ERR_INTERNAL', message, { cause: error });
}

/**
 * Registers the peer routes: `POST /_supercache/v1/call`,
 * `POST /_supercache/v1/batch` and `GET /_supercache/v1/ping`.
 *
 * Every route checks the cluster secret first (constant time, over SHA-256
 * digests), then the body size, then decodes and validates the envelope;
 * only then is a handler called. Errors go through one error handler that
 * maps codes to statuses with {@link HTTP_STATUS_BY_CODE} and answers with
 * the MessagePack error body the client rebuilds.
 *
 * @example
 * ```ts
 * const app = Fastify();
 * const transport = new HttpTransport({ nodeId: 'a', secret });
 * await app.register(supercachePeerPlugin, { transport, secret });
 * await app.listen({ host: '127.0.0.1', port: 0 });
 * await transport.start();
 * ```
 *
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` when the secret is empty or
 * an option is out of range.
 */
export async function supercachePeerPlugin(app: FastifyInstance, options: PeerPluginOptions): Promise<void> {
  const { transport, secret } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const maxBatchCalls = options.maxBatchCalls ?? MAX_CALLS_PER_BATCH;
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'the peer plugin needs a non-empty cluster secret');
  }
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'bodyLimit must be a positive integer');
  }
  if (!Number.isInteger(maxBatchCalls) || maxBatchCalls <= 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'maxBatchCalls must be a positive integer');
  }
  if (typeof transport?.dispatch !== 'function') {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'the peer plugin needs a transport to dispatch to');
  }
  const expected = digest(`Bearer ${secret}`);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(MSGPACK_CONTENT_TYPE, { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    done(null, body);
  });

  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const failure = toSuperCacheError(error);
    const status = httpStatusOf(failure.code);
    if (status >= 500 && failure.code === 'SC_ERR_INTERNAL')
      request.log.error({ err: error }, failure.message);
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    return reply
      .code(status)
      .header('content-type', MSGPACK_CONTENT_TYPE)
      .send(asBuffer(encodeError(failure)));
  });

  // onRequest runs before the body is read: no secret, no bytes consumed.
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || header.length === 0) {
      throw new SuperCacheError('SC_ERR_UNAUTHORIZED', 'missing cluster credentials');
    }
    if (!timingSafeEqual(digest(header), expected)) {
      throw new SuperCacheError('SC_ERR_UNAUTHORIZED', 'invalid cluster credentials');
    }
  });

  const bodyOf = (request: FastifyRequest): Buffer => {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `the body must be ${MSGPACK_CONTENT_TYPE}`);
    }
    return body;
  };
  const checkSender = (request: FastifyRequest, from: string): void => {
    const header = request.headers[NODE_HEADER];
    if (header !== undefined && header !== from) {
      throw new SuperCacheError(
        'SC_ERR_BAD_REQUEST',
        `header ${NODE_HEADER} does not match the envelope sender`,
      );
    }
  };
  const send = (reply: FastifyReply, bytes: Uint8Array): FastifyReply =>
    reply.code(200).header('content-type', MSGPACK_CONTENT_TYPE).send(asBuffer(bytes));

  app.post(PEER_ROUTES.call, { bodyLimit }, async (request, reply) => {
    const call = parseCallRequest(bodyOf(request));
    checkSender(request, call.from);
    return send(reply, await serveCall(transport, call));
  });

  app.post(PEER_ROUTES.batch, { bodyLimit }, async (request, reply) => {
    const batch = parseBatchRequest(bodyOf(request), maxBatchCalls);
    checkSender(request, batch.from);
    return send(reply, await serveBatch(transport, batch));
  });

  app.get(PEER_ROUTES.ping, async (_request, reply) => send(reply, encode({ node: transport.nodeId })));
}
