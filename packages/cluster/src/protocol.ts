/**
 * The peer protocol, version 1: routes, headers, envelopes, and the
 * server-side dispatch both transports share.
 *
 * Requests (MessagePack, `content-type: application/x-msgpack`):
 * - `POST /_supercache/v1/call`  — `{ v: 1, from, method, body }`; a 2xx
 *   response body is the handler's result, any other status carries the
 *   error's wire form `{ name, code, message, retryable, details? }`.
 * - `POST /_supercache/v1/batch` — `{ v: 1, from, calls: [[id, method, body], …] }`;
 *   the 200 response is `{ results: [[id, true, value] | [id, false, error], …] }`.
 * - `GET /_supercache/v1/ping` — `{ node }`.
 *
 * Bodies are encoded once, when the call is made, and spliced into the
 * envelope as raw MessagePack (never encoded twice).
 */

import type { CallContext, PeerHandler } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import { decode, encode, errorFromWire, errorToWire } from './codec.js';

/** Version of the peer protocol carried in every envelope (`v`). */
export const PROTOCOL_VERSION = 1;

/** Paths of the peer routes. */
export const PEER_ROUTES: Readonly<{ call: string; batch: string; ping: string }> = Object.freeze({
  call: '/_supercache/v1/call',
  batch: '/_supercache/v1/batch',
  ping: '/_supercache/v1/ping',
});

/** Content type of every peer request and response body. */
export const MSGPACK_CONTENT_TYPE = 'application/x-msgpack';

/** Header naming the sending node. */
export const NODE_HEADER = 'x-supercache-node';

/**
 * What the peer routes dispatch into: a transport that knows its handlers.
 * Both transports implement it.
 */
export interface PeerEndpoint {
  /** The id of the node that serves the calls. */
  readonly nodeId: string;
  /**
   * Runs the handler of `method`.
   * @throws SuperCacheError `SC_ERR_UNKNOWN_METHOD` when none is registered,
   * `SC_ERR_NOT_STARTED` when the endpoint is not started, or what the
   * handler threw (non-SuperCache errors become `SC_ERR_INTERNAL`).
   */
  dispatch(method: string, body: unknown, ctx: CallContext): Promise<unknown>;
  /**
   * Like `dispatch`, but a handler that answers synchronously is answered
   * without a promise: returns the value, or a promise when the handler is
   * asynchronous, and throws what `dispatch` would reject with. Batches use
   * it to skip a promise per call.
   */
  dispatchNow?(method: string, body: unknown, ctx: CallContext): unknown;
}

/** True for a promise (or any thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The context a peer call runs in, as the peer routes build it: the
 * authenticated sender, and `readOnly` for a read-only client token (its
 * handlers refuse commands that write).
 */
export interface PeerCallContext extends CallContext {
  readonly readOnly?: boolean;
}

/** One decoded single-call request. */
export interface CallRequest {
  readonly from: string;
  readonly method: string;
  readonly body: unknown;
}

/** One decoded batch request. */
export interface BatchRequest {
  readonly from: string;
  readonly calls: ReadonlyArray<readonly [id: number, method: string, body: unknown]>;
}

/** The most calls a server accepts in one batch. */
export const MAX_CALLS_PER_BATCH = 4096;

const MAX_NAME_LENGTH = 256;

// ---------------------------------------------------------------------------
// Handler registry

/** The handlers of one node, with the dispatch rules both transports share. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, PeerHandler>();

  /**
   * Registers (or replaces) the handler of `method`.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` on an empty name or a non-function.
   */
  set(method: string, handler: PeerHandler): void {
    if (typeof method !== 'string' || method.length === 0 || method.length > MAX_NAME_LENGTH) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        'method must be a non-empty string of at most 256 characters',
      );
    }
    if (typeof handler !== 'function') {
      throw new SuperCacheError('SC_ERR_BAD_ARG', `handler of method "${method}" must be a function`);
    }
    this.#handlers.set(method, handler);
  }

  /** Runs the handler of `method`; never throws synchronously. */
  dispatch(method: string, body: unknown, ctx: CallContext): Promise<unknown> {
    try {
      return Promise.resolve(this.dispatchNow(method, body, ctx));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs the handler of `method` and returns what it returned (a value, or
   * a promise); throws what it threw.
   * @throws SuperCacheError `SC_ERR_UNKNOWN_METHOD` when none is registered.
   */
  dispatchNow(method: string, body: unknown, ctx: CallContext): unknown {
    const handler = this.#handlers.get(method);
    if (handler === undefined) {
      throw new SuperCacheError('SC_ERR_UNKNOWN_METHOD', `no handler for method "${method}"`, {
        details: { method },
      });
    }
    return handler(body, ctx);
  }
}

// ---------------------------------------------------------------------------
// Raw MessagePack assembly

const K_V = encode('v');
const K_FROM = encode('from');
const K_METHOD = encode('method');
const K_BODY = encode('body');
const K_CALLS = encode('calls');
const K_RESULTS = encode('results');
const VERSION_BYTE = Uint8Array.of(PROTOCOL_VERSION);
const MAP3 = Uint8Array.of(0x83);
const MAP4 = Uint8Array.of(0x84);
const MAP1 = Uint8Array.of(0x81);
const ARRAY3 = Uint8Array.of(0x93);
const TRUE = Uint8Array.of(0xc3);
const FALSE = Uint8Array.of(0xc2);

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

const SMALL_UINTS: Uint8Array[] = Array.from({ length: 128 }, (_, i) => Uint8Array.of(i));
function uint(n: number): Uint8Array {
  if (n < 128) return SMALL_UINTS[n]!;
  if (n < 0x100) return Uint8Array.of(0xcc, n);
  if (n < 0x10000) return Uint8Array.of(0xcd, n >> 8, n & 0xff);
  return Uint8Array.of(0xce, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

// Method names are few and hot: encode each once.
const methodCache = new Map<string, Uint8Array>();
function encodeName(name: string): Uint8Array {
  let bytes = methodCache.get(name);
  if (bytes === undefined) {
    bytes = encode(name);
    if (methodCache.size < 4096) methodCache.set(name, bytes);
  }
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  return Buffer.concat(parts, total);
}

/** The pre-encoded `from` of one sender, reused for every envelope it sends. */
export function encodeSender(nodeId: string): Uint8Array {
  return encode(nodeId);
}

/** `{ v: 1, from, method, body }` with `body` already encoded. */
export function encodeCallRequest(from: Uint8Array, method: string, body: Uint8Array): Uint8Array {
  return concat([MAP4, K_V, VERSION_BYTE, K_FROM, from, K_METHOD, encodeName(method), K_BODY, body]);
}

/** `{ v: 1, from, calls: [[id, method, body], …] }`; ids are the array indexes. */
export function encodeBatchRequest(
  from: Uint8Array,
  calls: ReadonlyArray<{ readonly method: string; readonly body: Uint8Array }>,
): Uint8Array {
  const parts: Uint8Array[] = [MAP3, K_V, VERSION_BYTE, K_FROM, from, K_CALLS, arrayHeader(calls.length)];
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    parts.push(ARRAY3, uint(i), encodeName(call.method), call.body);
  }
  return concat(parts);
}

/** One encoded batch result. */
export type EncodedResult = readonly [id: number, ok: boolean, payload: Uint8Array];

/** `{ results: [[id, ok, value | error], …] }` from already-encoded payloads. */
export function encodeBatchResponse(results: readonly EncodedResult[]): Uint8Array {
  const parts: Uint8Array[] = [MAP1, K_RESULTS, arrayHeader(results.length)];
  for (const [id, ok, payload] of results) parts.push(ARRAY3, uint(id), ok ? TRUE : FALSE, payload);
  return concat(parts);
}

/**
 * Encodes a handler's result. A result that cannot travel is the handler's
 * fault, so it becomes `SC_ERR_INTERNAL`, not the caller's `INVALID_TERM`.
 */
export function encodeResult(method: string, value: unknown): Uint8Array {
  try {
    return encode(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SuperCacheError(
      'SC_ERR_INTERNAL',
      `result of method "${method}" cannot be encoded: ${reason}`,
      {
        cause,
      },
    );
  }
}

/**
 * The encoded wire form of any thrown value. Details that cannot travel are
 * dropped rather than losing the error itself.
 */
export function encodeError(error: unknown): Uint8Array {
  const wire = errorToWire(error);
  try {
    return encode(wire);
  } catch {
    const { details: _dropped, ...rest } = wire;
    return encode({ ...rest, message: `${rest.message} (details not encodable)` });
  }
}

// ---------------------------------------------------------------------------
// Parsing and validation

function badRequest(message: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_REQUEST', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

function checkHeader(envelope: Record<string, unknown>): string {
  if (envelope.v !== PROTOCOL_VERSION) {
    throw badRequest(
      `unsupported peer protocol version ${String(envelope.v)} (this node speaks ${PROTOCOL_VERSION})`,
    );
  }
  if (!isName(envelope.from)) throw badRequest('envelope field "from" must be a non-empty node id');
  return envelope.from;
}

/**
 * Decodes and validates a single-call envelope.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` on bytes that are not one.
 */
export function parseCallRequest(bytes: Uint8Array): CallRequest {
  const envelope = decode(bytes);
  if (!isRecord(envelope)) throw badRequest('call envelope must be a map');
  const from = checkHeader(envelope);
  if (!isName(envelope.method)) throw badRequest('envelope field "method" must be a non-empty string');
  return { from, method: envelope.method, body: envelope.body };
}

/**
 * Decodes and validates a batch envelope.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` on bytes that are not one, or
 * a batch of more than `maxCalls` calls.
 */
export function parseBatchRequest(bytes: Uint8Array, maxCalls: number = MAX_CALLS_PER_BATCH): BatchRequest {
  const envelope = decode(bytes);
  if (!isRecord(envelope)) throw badRequest('batch envelope must be a map');
  const from = checkHeader(envelope);
  const calls = envelope.calls;
  if (!Array.isArray(calls) || calls.length === 0) {
    throw badRequest('envelope field "calls" must be a non-empty array');
  }
  if (calls.length > maxCalls)
    throw badRequest(`a batch holds at most ${maxCalls} calls, got ${calls.length}`);
  const seen = new Set<number>();
  for (const call of calls as unknown[]) {
    if (!Array.isArray(call) || call.length !== 3) throw badRequest('each call must be [id, method, body]');
    const [id, method] = call as [unknown, unknown, unknown];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || seen.has(id)) {
      throw badRequest('each call id must be a distinct non-negative integer');
    }
    seen.add(id);
    if (!isName(method)) throw badRequest('each call method must be a non-empty string');
  }
  return { from, calls: calls as Array<[number, string, unknown]> };
}

/** One decoded batch result, as the client sees it. */
export type BatchResult =
  | readonly [id: number, ok: true, value: unknown]
  | readonly [id: number, ok: false, error: SuperCacheError];

/**
 * Decodes a batch response.
 * @throws SuperCacheError `SC_ERR_INTERNAL` when the peer's answer is malformed.
 */
export function parseBatchResponse(bytes: Uint8Array): BatchResult[] {
  let envelope: unknown;
  try {
    envelope = decode(bytes);
  } catch (cause) {
    throw new SuperCacheError('SC_ERR_INTERNAL', 'malformed batch response from peer', { cause });
  }
  const results = isRecord(envelope) ? envelope.results : undefined;
  if (!Array.isArray(results))
    throw new SuperCacheError('SC_ERR_INTERNAL', 'malformed batch response from peer');
  const out: BatchResult[] = [];
  for (const result of results as unknown[]) {
    if (!Array.isArray(result) || result.length !== 3 || typeof result[0] !== 'number') {
      throw new SuperCacheError('SC_ERR_INTERNAL', 'malformed batch result from peer');
    }
    const [id, ok, payload] = result as [number, unknown, unknown];
    out.push(ok === true ? [id, true, payload] : [id, false, errorFromWire(payload)]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Serving

/**
 * Runs one call and encodes its result.
 * @throws SuperCacheError whatever the dispatch failed with.
 */
export async function serveCall(
  endpoint: PeerEndpoint,
  request: CallRequest,
  ctx: PeerCallContext = { from: request.from },
): Promise<Uint8Array> {
  const value = await endpoint.dispatch(request.method, request.body, ctx);
  return encodeResult(request.method, value);
}

/**
 * Runs every call of a batch and encodes the results. Handlers start in the
 * order of the batch (each runs up to its first `await` before the next
 * starts), so two writes to one key keep the order they were made in; they
 * may finish in any order. One failing call fails only its own result.
 */
export async function serveBatch(
  endpoint: PeerEndpoint,
  request: BatchRequest,
  ctx: PeerCallContext = { from: request.from },
): Promise<Uint8Array> {
  const calls = request.calls;
  const results = new Array<EncodedResult>(calls.length);
  let pending: Promise<void>[] | undefined;
  for (let i = 0; i < calls.length; i++) {
    const [id, method, body] = calls[i]!;
    let value: unknown;
    try {
      value =
        endpoint.dispatchNow === undefined
          ? endpoint.dispatch(method, body, ctx)
          : endpoint.dispatchNow(method, body, ctx);
    } catch (error) {
      results[i] = [id, false, encodeError(error)];
      continue;
    }
    if (isThenable(value)) {
      (pending ??= []).push(
        Promise.resolve(value).then(
          (v) => {
            results[i] = encodedValue(id, method, v);
          },
          (error: unknown) => {
            results[i] = [id, false, encodeError(error)];
          },
        ),
      );
    } else {
      results[i] = encodedValue(id, method, value);
    }
  }
  if (pending !== undefined) await Promise.all(pending);
  return encodeBatchResponse(results);
}

function encodedValue(id: number, method: string, value: unknown): EncodedResult {
  try {
    return [id, true, encodeResult(method, value)];
  } catch (error) {
    return [id, false, encodeError(error)];
  }
}
