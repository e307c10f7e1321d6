/**
 * The HTTP transport: an undici `Pool` per peer as the client, the
 * {@link supercachePeerPlugin} Fastify routes as the server.
 */

import type { AddressInfo } from 'node:net';
import type { CallContext, CallOptions, PeerHandler, Transport } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import {
  abortedError,
  CallEngine,
  errorFromResponse,
  type Flight,
  type FlushMode,
  type TransportStats,
  unavailableError,
} from './batcher.js';
import { memberCredential } from './credentials.js';
import { DEFAULT_BODY_LIMIT, supercachePeerPlugin } from './peer-plugin.js';
import {
  encodeBatchRequest,
  encodeCallRequest,
  encodeSender,
  HandlerRegistry,
  MSGPACK_CONTENT_TYPE,
  NODE_HEADER,
  PEER_ROUTES,
  type PeerEndpoint,
} from './protocol.js';
import { limitedServerFactory, resolveServerLimits, type ServerLimits } from './server-limits.js';
import { isTlsErrorCode, type ResolvedTls, resolveTls, type TlsOptions, tlsConnectOptions } from './tls.js';

/** Options of an {@link HttpTransport}. */
export interface HttpTransportOptions {
  /** This node's id, sent with every request. */
  nodeId: string;
  /**
   * The cluster secret, shared by every member. It never travels: requests
   * carry this node's member key derived from it
   * (`memberCredential(secret, nodeId)`), and the owned server checks
   * members' keys and client tokens with it. Give it to members only; an
   * application gets a `clientToken` instead. Exactly one of `secret` and
   * `clientToken`.
   */
  secret?: string;
  /**
   * A client credential (`clientToken(secret, name)`): this transport then
   * calls data-plane methods only and cannot `listen`. For applications
   * that route through the peer protocol without being members.
   */
  clientToken?: string;
  /**
   * When set, `start()` runs a Fastify server with the peer routes on this
   * address (port 0 picks a free port; read {@link HttpTransport.address}).
   * Without it, mount {@link supercachePeerPlugin} in your own app.
   */
  listen?: { host?: string; port?: number };
  /** Peer addresses (`{ b: 'http://10.0.0.2:4000' }`); see `setPeerAddress`. */
  peers?: Readonly<Record<string, string>>;
  /** Keep-alive connections per peer. @defaultValue 8 */
  connections?: number;
  /** Default timeout of a call, in milliseconds. @defaultValue 5000 */
  timeoutMs?: number;
  /** Most calls in one batch request. @defaultValue 256 */
  maxBatchCalls?: number;
  /** Most encoded body bytes in one batch request. @defaultValue 1048576 (1 MiB) */
  maxBatchBytes?: number;
  /**
   * Most batch requests in flight to one peer; while that many are out, new
   * calls to it wait and leave together when one answers (or after
   * `batchHoldMs`). Fewer, larger requests cost far less CPU than many small
   * ones; a call to an idle peer still leaves at once. Calls sent `alone`
   * never wait. @defaultValue 2
   */
  requestWindow?: number;
  /** Longest a call waits for room in `requestWindow`, in ms. @defaultValue 2 */
  batchHoldMs?: number;
  /** Largest request body the server accepts. @defaultValue 8388608 (8 MiB) */
  bodyLimit?: number;
  /** When queued calls are sent (see {@link FlushMode}). @defaultValue 'immediate' */
  flush?: FlushMode;
  /**
   * Re-sends of an idempotent call after a connection failure (refused,
   * reset). Other calls, and other failures, are never retried.
   * @defaultValue 2
   */
  retries?: number;
  /** Backoff before the first retry, doubled for each next one. @defaultValue 25 */
  retryDelayMs?: number;
  /** Fastify's logger for the owned server (`true` for pino defaults). @defaultValue false */
  logger?: boolean;
  /**
   * Timeouts and connection caps of the owned server (see
   * {@link ServerLimits}). @defaultValue `DEFAULT_SERVER_LIMITS`
   */
  serverLimits?: ServerLimits;
  /**
   * TLS (see {@link TlsOptions}): the owned server speaks HTTPS with
   * `cert`/`key` (and, with `requireClientCert`, refuses clients without a
   * certificate from `ca`); calls verify peers against `ca` and present
   * `cert`/`key` for mutual TLS. With it, peers must be `https:` URLs: a
   * call to an `http:` peer fails with `SC_ERR_TLS` instead of sending the
   * secret in clear.
   */
  tls?: TlsOptions;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (current as { errors?: unknown[] }).errors;
    current = Array.isArray(inner) && inner.length > 0 ? inner[0] : (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function checkAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `peer address ${address} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `peer address ${address} must be http: or https:`);
  }
  return url.origin;
}

/** The credential a transport sends: its member key, or the client token it was given. */
function credentialOf(options: HttpTransportOptions): string {
  const { secret, clientToken } = options;
  if ((secret === undefined) === (clientToken === undefined)) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      'the HTTP transport needs exactly one of a cluster secret (a member) or a client token (a client)',
    );
  }
  if (secret !== undefined) {
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'the HTTP transport needs a non-empty cluster secret');
    }
    return memberCredential(secret, options.nodeId);
  }
  if (typeof clientToken !== 'string' || clientToken.length === 0 || /[\s]/.test(clientToken)) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      'a client token must be a non-empty string without spaces',
    );
  }
  return clientToken;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', `${name} must be a positive integer`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', `${name} must be a non-negative number`);
  }
  return value;
}

/**
 * The HTTP transport of a real cluster.
 *
 * Calls to one peer made in one event-loop turn travel in one
 * `POST /_supercache/v1/batch` (or `/call` when alone), over a keep-alive
 * undici `Pool` per peer. Failures map to the contract's codes: refused or
 * reset connections to `SC_ERR_PEER_UNAVAILABLE` (retried for idempotent
 * calls only), timeouts to `SC_ERR_TIMEOUT`, aborts to `SC_ERR_ABORTED`, and
 * a peer's error response to the SuperCacheError it carries.
 *
 * @example
 * ```ts
 * const a = new HttpTransport({ nodeId: 'a', secret, listen: { host: '127.0.0.1', port: 0 } });
 * const b = new HttpTransport({ nodeId: 'b', secret, listen: { host: '127.0.0.1', port: 0 } });
 * b.handle('echo', (body) => body);
 * await Promise.all([a.start(), b.start()]);
 * a.setPeerAddress('b', b.address!);
 * await a.call('b', 'echo', { n: 1n });
 * ```
 */
export class HttpTransport implements Transport, PeerEndpoint {
  /** This node's id. */
  readonly nodeId: string;
  readonly #secret: string | undefined;
  readonly #listen: { host?: string; port?: number } | undefined;
  readonly #connections: number;
  readonly #timeoutMs: number;
  readonly #bodyLimit: number;
  readonly #logger: boolean;
  readonly #limits: Readonly<Required<ServerLimits>>;
  readonly #tls: ResolvedTls | undefined;
  readonly #handlers = new HandlerRegistry();
  readonly #engine: CallEngine;
  readonly #sender: Uint8Array;
  readonly #headers: Record<string, string>;
  readonly #addresses = new Map<string, string>();
  readonly #pools = new Map<string, Pool>();
  #server: FastifyInstance | undefined;
  #address: string | undefined;
  #running = false;
  #transition: Promise<void> | undefined;

  /**
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on a missing node id or
   * secret, an option out of range, or TLS options that do not load (see
   * `resolveTls`); `SC_ERR_BAD_ARG` on a bad peer address.
   */
  constructor(options: HttpTransportOptions) {
    if (typeof options.nodeId !== 'string' || options.nodeId.length === 0 || options.nodeId.length > 256) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONFIG',
        'nodeId must be a non-empty string of at most 256 characters',
      );
    }
    const credential = credentialOf(options);
    this.nodeId = options.nodeId;
    this.#secret = options.secret;
    this.#listen = options.listen;
    if (this.#listen !== undefined && this.#secret === undefined) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONFIG',
        'a client transport cannot listen: serving needs the secret',
      );
    }
    this.#connections = positiveInt('connections', options.connections ?? 8);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (!(this.#timeoutMs > 0)) throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'timeoutMs must be positive');
    this.#bodyLimit = positiveInt('bodyLimit', options.bodyLimit ?? DEFAULT_BODY_LIMIT);
    this.#logger = options.logger ?? false;
    this.#limits = resolveServerLimits(options.serverLimits);
    this.#tls = options.tls === undefined ? undefined : resolveTls(options.tls);
    if (this.#tls !== undefined && this.#listen !== undefined && this.#tls.cert === undefined) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONFIG',
        'a TLS transport that listens needs tls.cert and tls.key',
        {
          details: { option: 'cert' },
        },
      );
    }
    const retries = options.retries ?? 2;
    if (!Number.isInteger(retries) || retries < 0) {
      throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'retries must be a non-negative integer');
    }
    this.#sender = encodeSender(this.nodeId);
    this.#headers = {
      'content-type': MSGPACK_CONTENT_TYPE,
      authorization: `Bearer ${credential}`,
      [NODE_HEADER]: this.nodeId,
    };
    this.#engine = new CallEngine(
      {
        timeoutMs: this.#timeoutMs,
        limits: {
          maxCalls: positiveInt('maxBatchCalls', options.maxBatchCalls ?? 256),
          maxBytes: positiveInt('maxBatchBytes', options.maxBatchBytes ?? 1 << 20),
          window: positiveInt('requestWindow', options.requestWindow ?? 2),
          maxHoldMs: nonNegative('batchHoldMs', options.batchHoldMs ?? 2),
        },
        flush: options.flush ?? 'immediate',
        retries,
        retryDelayMs: options.retryDelayMs ?? 25,
      },
      (peer, flight) => {
        this.#sendFlight(peer, flight).catch((error: unknown) => {
          // #sendFlight handles its own failures; this is a last resort.
          this.#engine.fail(flight, unavailableError(peer, String(error), error), false);
        });
      },
    );
    for (const [peer, address] of Object.entries(options.peers ?? {})) this.setPeerAddress(peer, address);
  }

  /**
   * The URL the owned server listens on (`http://127.0.0.1:40123`, `https:`
   * with TLS), once started with `listen`.
   */
  get address(): string | undefined {
    return this.#address;
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#running;
  }

  /**
   * Calls `method` on `peer`. See {@link Transport.call}.
   * @throws SuperCacheError (as a rejection) `SC_ERR_INVALID_TERM` for a body
   * that cannot be encoded, `SC_ERR_NOT_STARTED` outside `start()`/`stop()`,
   * `SC_ERR_PEER_UNAVAILABLE` for a peer without an address or not
   * reachable, `SC_ERR_TIMEOUT`, `SC_ERR_ABORTED`, or the peer's error.
   */
  call<T = unknown>(peer: string, method: string, body: unknown, options?: CallOptions): Promise<T> {
    return this.#engine.call(peer, method, body, options) as Promise<T>;
  }

  /** Registers (or replaces) the handler of `method`. */
  handle(method: string, handler: PeerHandler): void {
    this.#handlers.set(method, handler);
  }

  /**
   * Sets where `peer` listens (`http://host:port`); a changed address closes
   * the old connections.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when the address is not an http(s) URL.
   */
  setPeerAddress(peer: string, address: string): void {
    const origin = checkAddress(address);
    if (this.#addresses.get(peer) === origin) return;
    this.#addresses.set(peer, origin);
    const pool = this.#pools.get(peer);
    if (pool !== undefined) {
      this.#pools.delete(peer);
      pool.close().catch(() => {});
    }
  }

  /** Runs a handler (the receiving side of a call; used by the peer routes). */
  dispatch(method: string, body: unknown, ctx: CallContext): Promise<unknown> {
    if (!this.#running) {
      return Promise.reject(new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} is not started`));
    }
    return this.#handlers.dispatch(method, body, ctx);
  }

  /** See {@link PeerEndpoint.dispatchNow}. */
  dispatchNow(method: string, body: unknown, ctx: CallContext): unknown {
    if (!this.#running) throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.nodeId} is not started`);
    return this.#handlers.dispatchNow(method, body, ctx);
  }

  /** Counters of this node's outgoing calls. */
  stats(): TransportStats {
    return this.#engine.stats();
  }

  /**
   * Starts: accepts calls and, with `listen`, serves the peer routes.
   * Idempotent (concurrent calls share one start).
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` when the server cannot listen
   * (address in use, say).
   */
  async start(): Promise<void> {
    while (this.#transition !== undefined) await this.#transition;
    if (this.#running) return;
    this.#transition = this.#doStart();
    try {
      await this.#transition;
    } finally {
      this.#transition = undefined;
    }
  }

  async #doStart(): Promise<void> {
    if (this.#listen !== undefined) {
      const host = this.#listen.host ?? '127.0.0.1';
      const port = this.#listen.port ?? 0;
      const server = Fastify({
        logger: this.#logger,
        forceCloseConnections: true,
        bodyLimit: this.#bodyLimit,
        serverFactory: limitedServerFactory(this.#limits, this.#tls),
      });
      try {
        await server.register(supercachePeerPlugin, {
          transport: this,
          secret: this.#secret as string,
          bodyLimit: this.#bodyLimit,
        });
        await server.listen({ host, port });
      } catch (cause) {
        await server.close().catch(() => {});
        if (SuperCacheError.is(cause)) throw cause;
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new SuperCacheError('SC_ERR_BAD_CONFIG', `cannot listen on ${host}:${port}: ${reason}`, {
          cause,
        });
      }
      const info = server.server.address() as AddressInfo;
      const printable = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      this.#server = server;
      this.#address = `${this.#tls === undefined ? 'http' : 'https'}://${printable}:${info.port}`;
    }
    this.#running = true;
    this.#engine.running = true;
  }

  /**
   * Stops: outstanding calls reject with `SC_ERR_STOPPED`, pools and the
   * owned server close. Idempotent.
   */
  async stop(): Promise<void> {
    while (this.#transition !== undefined) await this.#transition;
    if (!this.#running) return;
    this.#transition = this.#doStop();
    try {
      await this.#transition;
    } finally {
      this.#transition = undefined;
    }
  }

  async #doStop(): Promise<void> {
    this.#running = false;
    this.#engine.running = false;
    this.#engine.rejectAll(new SuperCacheError('SC_ERR_STOPPED', `transport of ${this.nodeId} stopped`));
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    const server = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    await Promise.all([...pools.map((pool) => pool.destroy()), server?.close()]);
  }

  /**
   * Round-trip time to `peer` through `GET /_supercache/v1/ping`, in ms.
   * @throws SuperCacheError `SC_ERR_PEER_UNAVAILABLE`, `SC_ERR_TIMEOUT`,
   * `SC_ERR_ABORTED`, or the peer's error (a wrong secret: `SC_ERR_UNAUTHORIZED`);
   * `SC_ERR_BAD_ARG` for a timeout that is not a positive finite number.
   */
  async ping(peer: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<number> {
    if (!this.#running) throw new SuperCacheError('SC_ERR_NOT_STARTED', 'transport is not started');
    const pool = this.#pool(peer);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    if (!(timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'ping timeoutMs must be a positive number of milliseconds');
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
    const started = performance.now();
    try {
      const response = await pool.request({
        path: PEER_ROUTES.ping,
        method: 'GET',
        headers: { authorization: this.#headers.authorization!, [NODE_HEADER]: this.nodeId },
        signal,
      });
      const bytes = new Uint8Array(await response.body.arrayBuffer());
      if (response.statusCode !== 200) throw errorFromResponse(peer, response.statusCode, bytes);
      return performance.now() - started;
    } catch (error) {
      throw this.#classify(peer, 'ping', error, options.signal, timeout, timeoutMs).error;
    }
  }

  #pool(peer: string): Pool {
    let pool = this.#pools.get(peer);
    if (pool === undefined) {
      const origin = this.#addresses.get(peer);
      if (origin === undefined) throw unavailableError(peer, 'no address is known for it');
      if (this.#tls !== undefined && origin.startsWith('http:')) {
        throw new SuperCacheError(
          'SC_ERR_TLS',
          `peer ${peer} is addressed as ${origin}: a TLS transport calls https: peers only`,
          { details: { peer, address: origin } },
        );
      }
      pool = new Pool(origin, {
        ...(this.#tls === undefined ? {} : { connect: tlsConnectOptions(this.#tls) }),
        connections: this.#connections,
        pipelining: 1,
        // Below the server's keep-alive timeout, so the client drops an idle
        // socket before the server does (fewer reset races).
        keepAliveTimeout: 4_000,
        connectTimeout: Math.min(this.#timeoutMs, 10_000),
      });
      this.#pools.set(peer, pool);
    }
    return pool;
  }

  async #sendFlight(peer: string, flight: Flight): Promise<void> {
    let pool: Pool;
    try {
      pool = this.#pool(peer);
    } catch (error) {
      this.#engine.fail(flight, error as SuperCacheError, false);
      return;
    }
    const first = flight.calls[0]!;
    const body = flight.isBatch
      ? encodeBatchRequest(this.#sender, flight.calls)
      : encodeCallRequest(this.#sender, first.method, first.body);
    // The calls' own timers enforce their timeouts; this only stops a
    // request that would outlive all of them (0 turns undici's timer off).
    const remaining = flight.remainingMs();
    const backstop = Number.isFinite(remaining) ? Math.min(remaining + 1_000, 2_147_483_647) : 0;
    try {
      const response = await pool.request({
        path: flight.isBatch ? PEER_ROUTES.batch : PEER_ROUTES.call,
        method: 'POST',
        headers: this.#headers,
        body,
        signal: flight.controller.signal,
        headersTimeout: backstop,
        bodyTimeout: backstop,
      });
      const bytes = new Uint8Array(await response.body.arrayBuffer());
      if (flight.abandoned) return;
      this.#engine.complete(flight, peer, response.statusCode, bytes);
    } catch (error) {
      if (flight.abandoned || flight.done) return;
      const method = flight.isBatch ? `batch of ${flight.calls.length}` : first.method;
      const { error: failure, connection } = this.#classify(peer, method, error, undefined, undefined, 0);
      this.#engine.fail(flight, failure, connection);
    } finally {
      flight.release();
    }
  }

  #classify(
    peer: string,
    method: string,
    error: unknown,
    signal: AbortSignal | undefined,
    timeout: AbortSignal | undefined,
    timeoutMs: number,
  ): { error: SuperCacheError; connection: boolean } {
    if (SuperCacheError.is(error)) return { error, connection: false };
    if (signal?.aborted === true)
      return { error: abortedError(peer, method, signal.reason), connection: false };
    const code = errorCode(error);
    if (timeout?.aborted === true || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return {
        error: new SuperCacheError('SC_ERR_TIMEOUT', `${method} to ${peer} timed out`, {
          retryable: true,
          cause: error,
          details: timeoutMs > 0 ? { peer, method, timeoutMs } : { peer, method },
        }),
        connection: false,
      };
    }
    if (isTlsErrorCode(code)) {
      return {
        error: new SuperCacheError(
          'SC_ERR_TLS',
          `TLS with ${peer} failed: ${code} (${(error as Error).message})`,
          { cause: error, details: { peer, method, tlsCode: code } },
        ),
        connection: false,
      };
    }
    if (code !== undefined && CONNECTION_CODES.has(code)) {
      return {
        error: unavailableError(peer, `${code} (${(error as Error).message})`, error),
        connection: true,
      };
    }
    if (code === 'UND_ERR_ABORTED' || (error as { name?: unknown })?.name === 'AbortError') {
      return { error: abortedError(peer, method, error), connection: false };
    }
    return {
      error: unavailableError(peer, String((error as Error)?.message ?? error), error),
      connection: false,
    };
  }
}
