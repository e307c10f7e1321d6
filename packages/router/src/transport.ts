/**
 * The transport contract between nodes. Defined here, low in the stack, so
 * the router can call peers; the cluster package implements it twice (in
 * memory, for deterministic tests, and over HTTP with undici + Fastify).
 *
 * A transport moves opaque, structured bodies (terms plus match markers)
 * between named methods on named nodes. Routing decisions, epochs and
 * redirects live in the bodies, not here.
 */

/** Options of one peer call. */
export interface CallOptions {
  /** Aborts the call; the promise rejects with `SC_ERR_ABORTED`. */
  signal?: AbortSignal;
  /**
   * Milliseconds before the call fails with `SC_ERR_TIMEOUT` (retryable).
   * @defaultValue the transport's default (5000)
   */
  timeoutMs?: number;
  /**
   * True when the call may be retried safely (reads, LWW-versioned writes).
   * Only idempotent calls are retried after a connection failure.
   * @defaultValue false
   */
  idempotent?: boolean;
  /**
   * True to send the call in a request of its own instead of batching it
   * with other calls to the same peer. Control-plane calls (views, handoff
   * steps, heartbeats) use it: a batch answers when its slowest call does,
   * and a control call must not wait behind data calls that are themselves
   * waiting for the control step. @defaultValue false
   */
  alone?: boolean;
}

/** Who sent a call, as the receiving handler sees it. */
export interface CallContext {
  /** Node id of the caller. */
  readonly from: string;
}

/** Handles one method on the receiving node. Throw a SuperCacheError to fail the call. */
export type PeerHandler = (body: unknown, ctx: CallContext) => unknown | Promise<unknown>;

/**
 * Moves calls between nodes. Calls to the same peer made within one tick
 * travel together in one request where the implementation supports it.
 */
export interface Transport {
  /** This node's id. */
  readonly nodeId: string;
  /**
   * Calls `method` on node `peer` with `body`; resolves with the handler's
   * result or rejects with the SuperCacheError it threw (rebuilt from the
   * wire), `SC_ERR_PEER_UNAVAILABLE`, `SC_ERR_TIMEOUT` or `SC_ERR_ABORTED`.
   */
  call<T = unknown>(peer: string, method: string, body: unknown, options?: CallOptions): Promise<T>;
  /** Registers (or replaces) the handler of `method` on this node. */
  handle(method: string, handler: PeerHandler): void;
  /** Tells the transport where a peer is (a URL for HTTP; ignored in memory). */
  setPeerAddress(peer: string, address: string): void;
  /** Starts serving; idempotent. */
  start(): Promise<void>;
  /** Stops serving and closes connections; idempotent. */
  stop(): Promise<void>;
}
