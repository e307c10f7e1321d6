/**
 * The client half both transports share: a call's lifecycle (timeout,
 * abort, settle once), the per-peer queue that turns the calls of one tick
 * into one request, and what to do with a response or a failure.
 */

import type { CallOptions } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import { decode, encode, errorFromWire } from './codec.js';
import { errorForHttpStatus } from './http-status.js';
import { parseBatchResponse } from './protocol.js';

/**
 * When the calls queued for a peer are sent.
 * - `'microtask'`: at the end of the current synchronous run (calls made in
 *   one loop or one `Promise.all` travel together; fake-timer friendly).
 * - `'immediate'`: on `setImmediate`, so calls made while handling every
 *   socket read of one event-loop turn travel together (best throughput when
 *   many client requests arrive at once).
 */
export type FlushMode = 'microtask' | 'immediate';

/** Counters of one transport's client side. */
export interface TransportStats {
  /** Calls made (accepted by `call()`). */
  calls: number;
  /** Requests sent (single calls and batches). */
  requests: number;
  /** Of those, batch requests. */
  batches: number;
  /** Calls re-sent after a connection failure. */
  retries: number;
  /** Calls that failed, for any reason. */
  failures: number;
}

// setTimeout's ceiling; longer timeouts mean "no timer".
const MAX_TIMER_MS = 2_147_483_647;

/** One outstanding call. */
export class PendingCall {
  readonly peer: string;
  readonly method: string;
  /** The encoded body. */
  readonly body: Uint8Array;
  readonly idempotent: boolean;
  /** Sent in a request of its own, never batched (see `CallOptions.alone`). */
  readonly alone: boolean;
  /** `performance.now()` deadline; `Infinity` without a timeout. */
  readonly deadline: number;
  /** Retries made so far. */
  attempts = 0;
  settled = false;
  /** The request currently carrying this call. */
  flight: Flight | undefined;
  readonly promise: Promise<unknown>;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  readonly #onSettle: (call: PendingCall, ok: boolean) => void;

  constructor(
    peer: string,
    method: string,
    body: Uint8Array,
    timeoutMs: number,
    options: CallOptions | undefined,
    onSettle: (call: PendingCall, ok: boolean) => void,
  ) {
    this.peer = peer;
    this.method = method;
    this.alone = options?.alone === true;
    this.body = body;
    this.idempotent = options?.idempotent === true;
    this.#onSettle = onSettle;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (timeoutMs < MAX_TIMER_MS) {
      this.deadline = performance.now() + timeoutMs;
      this.#timer = setTimeout(() => {
        this.reject(
          new SuperCacheError('SC_ERR_TIMEOUT', `call ${method} to ${peer} timed out after ${timeoutMs} ms`, {
            retryable: true,
            details: { peer, method, timeoutMs },
          }),
        );
      }, timeoutMs);
    } else {
      this.deadline = Number.POSITIVE_INFINITY;
    }
    const signal = options?.signal;
    if (signal !== undefined) {
      this.#signal = signal;
      this.#onAbort = () => this.reject(abortedError(peer, method, signal.reason));
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Resolves the call unless it already settled. */
  resolve(value: unknown): void {
    if (this.settled) return;
    this.#finish(true);
    this.#resolve(value);
  }

  /** Rejects the call unless it already settled. */
  reject(error: unknown): void {
    if (this.settled) return;
    this.#finish(false);
    this.#reject(error);
  }

  #finish(ok: boolean): void {
    this.settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.flight?.memberSettled();
    this.#onSettle(this, ok);
  }
}

/** The error of an aborted call. */
export function abortedError(peer: string, method: string, reason: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_ABORTED', `call ${method} to ${peer} was aborted`, {
    cause: reason,
    details: { peer, method },
  });
}

/** The error of a peer that cannot be reached. */
export function unavailableError(peer: string, reason: string, cause?: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_PEER_UNAVAILABLE', `peer ${peer} is unavailable: ${reason}`, {
    retryable: true,
    details: { peer },
    cause,
  });
}

/**
 * One request on the wire, carrying one or more calls. Its signal aborts
 * once every call it carries has settled some other way (timeout, abort),
 * so nobody waits on an answer nobody wants.
 */
export class Flight {
  readonly calls: readonly PendingCall[];
  readonly controller = new AbortController();
  /** Set when the response (or a failure) is being applied. */
  done = false;
  #open: number;
  #onRelease: (() => void) | undefined;

  constructor(calls: readonly PendingCall[], onRelease?: () => void) {
    this.calls = calls;
    this.#open = calls.length;
    this.#onRelease = onRelease;
    for (const call of calls) call.flight = this;
  }

  /**
   * Frees the request's slot in its peer's window (see
   * {@link BatchLimits.window}); idempotent. The transport calls it once the
   * request is over, however it ended.
   */
  release(): void {
    const onRelease = this.#onRelease;
    this.#onRelease = undefined;
    onRelease?.();
  }

  /** True when the request is a batch (else the single-call route is used). */
  get isBatch(): boolean {
    return this.calls.length > 1;
  }

  /** Milliseconds until the last deadline of its calls (a backstop for the request itself). */
  remainingMs(): number {
    let latest = 0;
    for (const call of this.calls) if (call.deadline > latest) latest = call.deadline;
    return Math.max(1, Math.ceil(latest - performance.now()));
  }

  /** Called by a call when it settles. */
  memberSettled(): void {
    if (!this.done && --this.#open === 0) this.controller.abort();
  }

  /** True when every call settled before an answer came. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  /** Detaches the calls (before resolving them with the answer). */
  finish(): void {
    this.done = true;
    for (const call of this.calls) if (call.flight === this) call.flight = undefined;
  }
}

/** Limits of one request. */
export interface BatchLimits {
  /** Most calls in one request. */
  readonly maxCalls: number;
  /** Most body bytes in one request (a single larger call still goes alone). */
  readonly maxBytes: number;
  /**
   * Most requests in flight to one peer before new calls wait for one of
   * them to answer (then all the waiting calls travel in one request).
   * Under load this turns many small requests into few large ones, which is
   * where an HTTP transport spends its CPU; an idle peer still gets a call
   * at once. `Infinity` turns it off.
   */
  readonly window?: number;
  /**
   * Longest a call waits for a free slot in the window, in ms; after it the
   * queue is sent anyway, so a slow request never stalls the calls behind it.
   */
  readonly maxHoldMs?: number;
}

/**
 * Queues calls per peer and sends them together, split by the limits; while
 * a peer's window is full, its calls wait for an answer (or `maxHoldMs`).
 */
export class Batcher {
  #queues = new Map<string, PendingCall[]>();
  /** When the oldest call of each queue was queued (`performance.now()`). */
  readonly #since = new Map<string, number>();
  readonly #inflight = new Map<string, number>();
  readonly #holdTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #scheduled = false;
  readonly #send: (peer: string, calls: PendingCall[], onRelease: () => void) => void;
  readonly #limits: BatchLimits;
  readonly #window: number;
  readonly #maxHoldMs: number;
  readonly #mode: FlushMode;
  readonly #flush = (): void => this.flush();

  constructor(
    send: (peer: string, calls: PendingCall[], onRelease: () => void) => void,
    limits: BatchLimits,
    mode: FlushMode,
  ) {
    this.#send = send;
    this.#limits = limits;
    this.#window = limits.window ?? Number.POSITIVE_INFINITY;
    this.#maxHoldMs = limits.maxHoldMs ?? 2;
    this.#mode = mode;
  }

  /** Queues a call; the queue flushes at the end of the tick. */
  enqueue(call: PendingCall): void {
    const queue = this.#queues.get(call.peer);
    if (queue === undefined) {
      this.#queues.set(call.peer, [call]);
      if (this.#window !== Number.POSITIVE_INFINITY) this.#since.set(call.peer, performance.now());
    } else queue.push(call);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      if (this.#mode === 'microtask') queueMicrotask(this.#flush);
      else setImmediate(this.#flush);
    }
  }

  /** Sends everything queued whose peer has room in its window (or waited long enough). */
  flush(): void {
    this.#scheduled = false;
    const queues = this.#queues;
    this.#queues = new Map();
    const now = this.#window === Number.POSITIVE_INFINITY ? 0 : performance.now();
    for (const [peer, queue] of queues) {
      if ((this.#inflight.get(peer) ?? 0) >= this.#window) {
        const waited = now - (this.#since.get(peer) ?? now);
        if (waited < this.#maxHoldMs) {
          // A call sent alone never waits; the others do.
          const held: PendingCall[] = [];
          for (const call of queue) {
            if (call.settled) continue;
            if (call.alone) this.#sendChunk(peer, [call]);
            else held.push(call);
          }
          if (held.length > 0) {
            this.#queues.set(peer, held);
            this.#holdFor(peer, this.#maxHoldMs - waited);
          } else this.#since.delete(peer);
          continue;
        }
      }
      this.#since.delete(peer);
      this.#sendQueue(peer, queue);
    }
  }

  #holdFor(peer: string, ms: number): void {
    if (this.#holdTimers.has(peer)) return;
    const timer = setTimeout(
      () => {
        this.#holdTimers.delete(peer);
        if (this.#queues.has(peer)) this.#schedule();
      },
      Math.max(0, ms),
    );
    timer.unref?.();
    this.#holdTimers.set(peer, timer);
  }

  #sendQueue(peer: string, queue: readonly PendingCall[]): void {
    const { maxCalls, maxBytes } = this.#limits;
    let chunk: PendingCall[] = [];
    let bytes = 0;
    for (const call of queue) {
      if (call.settled) continue;
      if (call.alone) {
        this.#sendChunk(peer, [call]);
        continue;
      }
      if (chunk.length > 0 && (chunk.length >= maxCalls || bytes + call.body.byteLength > maxBytes)) {
        this.#sendChunk(peer, chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(call);
      bytes += call.body.byteLength;
    }
    if (chunk.length > 0) this.#sendChunk(peer, chunk);
  }

  #sendChunk(peer: string, calls: PendingCall[]): void {
    this.#inflight.set(peer, (this.#inflight.get(peer) ?? 0) + 1);
    this.#send(peer, calls, () => this.#released(peer));
  }

  #released(peer: string): void {
    const n = (this.#inflight.get(peer) ?? 1) - 1;
    if (n <= 0) this.#inflight.delete(peer);
    else this.#inflight.set(peer, n);
    // Calls held for this peer go out with whatever the answer's callers add.
    if (this.#queues.has(peer)) this.#schedule();
  }

  /** Requests in flight to `peer`. */
  inflight(peer: string): number {
    return this.#inflight.get(peer) ?? 0;
  }

  /** Forgets every queued call (the owner rejects them). */
  clear(): void {
    this.#queues.clear();
    this.#since.clear();
    for (const timer of this.#holdTimers.values()) clearTimeout(timer);
    this.#holdTimers.clear();
  }
}

/** Options of a {@link CallEngine}. */
export interface CallEngineOptions {
  readonly timeoutMs: number;
  readonly limits: BatchLimits;
  readonly flush: FlushMode;
  readonly retries: number;
  readonly retryDelayMs: number;
}

/**
 * `call()` for both transports: checks, encodes, queues, and applies
 * answers. The transport supplies only how a flight is sent.
 */
export class CallEngine {
  readonly #options: CallEngineOptions;
  readonly #batcher: Batcher;
  readonly #live = new Set<PendingCall>();
  readonly #stats: TransportStats = { calls: 0, requests: 0, batches: 0, retries: 0, failures: 0 };
  readonly #onSettle = (call: PendingCall, ok: boolean): void => {
    this.#live.delete(call);
    if (!ok) this.#stats.failures++;
  };
  /** Whether calls are accepted. */
  running = false;

  constructor(options: CallEngineOptions, send: (peer: string, flight: Flight) => void) {
    this.#options = options;
    this.#batcher = new Batcher(
      (peer, calls, onRelease) => {
        const flight = new Flight(calls, onRelease);
        this.#stats.requests++;
        if (flight.isBatch) this.#stats.batches++;
        send(peer, flight);
      },
      options.limits,
      options.flush,
    );
  }

  /** A snapshot of the counters. */
  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** Implements `Transport.call`. */
  call(peer: string, method: string, body: unknown, options?: CallOptions): Promise<unknown> {
    if (!this.running) {
      return Promise.reject(new SuperCacheError('SC_ERR_NOT_STARTED', 'transport is not started'));
    }
    if (typeof peer !== 'string' || peer.length === 0) {
      return Promise.reject(new SuperCacheError('SC_ERR_BAD_ARG', 'peer must be a non-empty node id'));
    }
    if (typeof method !== 'string' || method.length === 0 || method.length > 256) {
      return Promise.reject(
        new SuperCacheError('SC_ERR_BAD_ARG', 'method must be a non-empty string of at most 256 characters'),
      );
    }
    const timeoutMs = options?.timeoutMs ?? this.#options.timeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
      return Promise.reject(new SuperCacheError('SC_ERR_BAD_ARG', 'timeoutMs must be a positive number'));
    }
    if (options?.signal?.aborted === true) {
      return Promise.reject(abortedError(peer, method, options.signal.reason));
    }
    let bytes: Uint8Array;
    try {
      bytes = encode(body);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#stats.calls++;
    const call = new PendingCall(peer, method, bytes, timeoutMs, options, this.#onSettle);
    this.#live.add(call);
    this.#batcher.enqueue(call);
    return call.promise;
  }

  /**
   * Applies an HTTP-shaped answer (status and body) to the calls of a flight.
   */
  complete(flight: Flight, peer: string, status: number, bytes: Uint8Array): void {
    flight.finish();
    flight.release();
    const ok = status >= 200 && status < 300;
    if (!ok) {
      const error = errorFromResponse(peer, status, bytes);
      for (const call of flight.calls) call.reject(error);
      return;
    }
    if (!flight.isBatch) {
      const call = flight.calls[0]!;
      let value: unknown;
      try {
        value = decode(bytes);
      } catch (cause) {
        call.reject(
          new SuperCacheError('SC_ERR_INTERNAL', `malformed response from peer ${peer}`, { cause }),
        );
        return;
      }
      call.resolve(value);
      return;
    }
    let results: ReturnType<typeof parseBatchResponse>;
    try {
      results = parseBatchResponse(bytes);
    } catch (error) {
      for (const call of flight.calls) call.reject(error);
      return;
    }
    for (const result of results) {
      const call = flight.calls[result[0]];
      if (call === undefined) continue;
      if (result[1]) call.resolve(result[2]);
      else call.reject(result[2]);
    }
    for (const call of flight.calls) {
      if (!call.settled) {
        call.reject(
          new SuperCacheError('SC_ERR_INTERNAL', `peer ${peer} sent no result for call ${call.method}`),
        );
      }
    }
  }

  /**
   * Fails a flight. On a connection failure, idempotent calls with retries
   * left are queued again after a short backoff; every other call rejects
   * with `error`.
   */
  fail(flight: Flight, error: SuperCacheError, connectionFailure: boolean): void {
    flight.finish();
    flight.release();
    for (const call of flight.calls) {
      if (call.settled) continue;
      if (connectionFailure && call.idempotent && call.attempts < this.#options.retries && this.running) {
        call.attempts++;
        this.#stats.retries++;
        const delay = this.#options.retryDelayMs * 2 ** (call.attempts - 1);
        setTimeout(() => {
          if (!call.settled && this.running) this.#batcher.enqueue(call);
        }, delay);
      } else {
        call.reject(error);
      }
    }
  }

  /** Rejects every outstanding call (on stop). */
  rejectAll(error: SuperCacheError): void {
    this.#batcher.clear();
    for (const call of [...this.#live]) call.reject(error);
  }
}

/** The error carried by a non-2xx response. */
export function errorFromResponse(peer: string, status: number, bytes: Uint8Array): SuperCacheError {
  try {
    const data = decode(bytes);
    if (typeof data === 'object' && data !== null && typeof (data as { code?: unknown }).code === 'string') {
      return errorFromWire(data);
    }
  } catch {
    // fall through to the status
  }
  return errorForHttpStatus(status, peer);
}
