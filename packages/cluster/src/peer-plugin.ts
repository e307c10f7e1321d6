/**
 * The peer routes as a Fastify plugin, to mount in any Fastify app (the
 * {@link HttpTransport} mounts it in its own server when given `listen`).
 *
 * The plugin is encapsulated: its content-type parser, auth hook and error
 * handler apply to its own routes only and leave the host app alone.
 */

import { SuperCacheError } from '@supercache/storage';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { encode } from './codec.js';
import {
  authorizeMethod,
  type ClientTokenSpec,
  CredentialVerifier,
  clientCaller,
  type Principal,
} from './credentials.js';
import { httpStatusOf } from './http-status.js';
import {
  encodeError,
  MAX_CALLS_PER_BATCH,
  MSGPACK_CONTENT_TYPE,
  NODE_HEADER,
  PEER_ROUTES,
  type PeerCallContext,
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
   * The cluster secret. Requests must carry a credential made from it (see
   * `credentials.ts`): a member key (`memberCredential(secret, id)` with the
   * id in `x-supercache-node`) or a client token (`clientToken(secret, name)`).
   * Any other request gets 401 `SC_ERR_UNAUTHORIZED` before its body is
   * read; a client calling a member method gets 403 `SC_ERR_FORBIDDEN`.
   */
  secret: string;
  /** Opaque client tokens accepted besides the ones derived from the secret. */
  clientTokens?: readonly ClientTokenSpec[];
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
 * Every route checks the credential first (constant time, over SHA-256
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
  const verifier = new CredentialVerifier({
    secret,
    ...(options.clientTokens === undefined ? {} : { clientTokens: options.clientTokens }),
  });
  const principals = new WeakMap<FastifyRequest, Principal>();

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

  // onRequest runs before the body is read: no credential, no bytes consumed.
  app.addHook('onRequest', async (request: FastifyRequest) => {
    principals.set(request, verifier.verify(request.headers.authorization, request.headers[NODE_HEADER]));
  });

  const bodyOf = (request: FastifyRequest): Buffer => {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `the body must be ${MSGPACK_CONTENT_TYPE}`);
    }
    return body;
  };
  /**
   * The context the calls run in. A member's calls run as the node its key
   * was made for (an envelope naming another sender is refused); a client's
   * as `client/<name>`, whatever its envelope says, and only for the
   * data-plane methods.
   */
  const contextOf = (request: FastifyRequest, from: string, methods: readonly string[]): PeerCallContext => {
    const principal = principals.get(request);
    if (principal === undefined) throw new SuperCacheError('SC_ERR_UNAUTHORIZED', 'missing credentials');
    if (principal.kind === 'member') {
      // A node runs its calls to itself locally; one arriving over the wire
      // under its own key is forged, and would skip the checks a node makes
      // of other senders only.
      if (principal.nodeId === transport.nodeId) {
        throw new SuperCacheError(
          'SC_ERR_FORBIDDEN',
          `node ${transport.nodeId} does not take calls under its own key over the network`,
          { details: { node: principal.nodeId } },
        );
      }
      if (from !== principal.nodeId) {
        throw new SuperCacheError(
          'SC_ERR_FORBIDDEN',
          `the credential is for node ${principal.nodeId}, the envelope names ${from}`,
          { details: { node: principal.nodeId } },
        );
      }
      return { from };
    }
    for (const method of methods) authorizeMethod(principal, method);
    return principal.readOnly
      ? { from: clientCaller(principal), readOnly: true }
      : { from: clientCaller(principal) };
  };
  const send = (reply: FastifyReply, bytes: Uint8Array): FastifyReply =>
    reply.code(200).header('content-type', MSGPACK_CONTENT_TYPE).send(asBuffer(bytes));

  app.post(PEER_ROUTES.call, { bodyLimit }, async (request, reply) => {
    const call = parseCallRequest(bodyOf(request));
    const ctx = contextOf(request, call.from, [call.method]);
    return send(reply, await serveCall(transport, call, ctx));
  });

  app.post(PEER_ROUTES.batch, { bodyLimit }, async (request, reply) => {
    const batch = parseBatchRequest(bodyOf(request), maxBatchCalls);
    const ctx = contextOf(
      request,
      batch.from,
      batch.calls.map((c) => c[1]),
    );
    return send(reply, await serveBatch(transport, batch, ctx));
  });

  app.get(PEER_ROUTES.ping, async (_request, reply) => send(reply, encode({ node: transport.nodeId })));
}
