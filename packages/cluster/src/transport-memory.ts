/**
 * Many nodes in one process, for fast deterministic tests: a
 * {@link MemoryNetwork} connects {@link MemoryTransport}s and injects faults
 * (drops, delays, partitions, dead nodes). Every body goes through the wire
 * codec and the same envelopes, batching and dispatch as HTTP, so a payload
 * that would not survive the network fails here too.
 */

import type { CallContext, CallOptions, PeerHandler, Transport } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import { CallEngine, type Flight, type FlushMode, type TransportStats, unavailableError } from './batcher.js';
import { httpStatusOf } from './http-status.js';
import {
  encodeBatchRequest,
  encodeCallRequest,
  encodeError,
  encodeSender,
  HandlerRegistry,
  type PeerEndpoint,
  parseBatchRequest,
  parseCallRequest,
  serveBatch,
  serveCall,
} from './protocol.js';

/** Options of a {@link MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /**
   * Seed of the network's PRNG (mulberry32), which decides probabilistic
   * drops. Same seed, same calls in the same order: same faults.
   * @defaultValue 1
   */
  seed?: number;
  /** Replaces the seeded PRNG: returns numbers in [0, 1). */
  random?: () => number;
}

/** Options of one {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /**
   * Default timeout of a call, in milliseconds. A dropped message surfaces
   * as this timeout, so fault tests usually set it low.
   * @defaultValue 5000
   */
  timeoutMs?: number;
  /** Most calls in one request. @defaultValue 256 */
  maxBatchCalls?: number;
  /** Most encoded body bytes in one request. @defaultValue 1048576 (1 MiB) */
  maxBatchBytes?: number;
  /** When queued calls are sent (see {@link FlushMode}). @defaultValue 'microtask' */
  flush?: FlushMode;
  /**
   * Re-sends of an idempotent call after a connection failure (a
   * partition, a dead node). Off by default so faults show at once.
   * @defaultValue 0
   */
  retries?: number;
  /** Backoff before the first retry, doubled for each next one. @defaultValue 25 */
  retryDelayMs?: number;
}

/** A rule that loses messages; see {@link MemoryNetwork.drop}. */
export interface DropRule {
  /** Only messages sent by this node. @defaultValue any */
  from?: string;
  /** Only messages sent to this node. @defaultValue any */
  to?: string;
  /** Chance in [0, 1] that a matching message is lost. @defaultValue 1 */
  probability?: number;
  /** Lose only the next `count` matching messages, then stop. @defaultValue unlimited */
  count?: number;
}

/** Counters of a {@link MemoryNetwork}. */
export interface NetworkStats {
  /** Request messages sent (a batch is one message). */
  requests: number;
  /** Calls carried by those requests. */
  calls: number;
  /** Response messages delivered back. */
  responses: number;
  /** Messages lost to drop rules (requests and responses). */
  dropped: number;
  /** Messages refused at once (dead node, partition, unknown peer). */
  refused: number;
}

interface Answer {
  readonly status: number;
  readonly body: Uint8Array;
}

interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly fail: (error: SuperCacheError) => void;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A lost message: a promise that never settles. A fresh one each time, so
 * the waiting continuation can be collected (a shared one would keep every
 * continuation that ever awaited it).
 */
function lost(): Promise<never> {
  return new Promise<never>(() => {});
}

/**
 * An in-process network of {@link MemoryTransport}s with fault injection.
 *
 * Faults apply per message and per direction: a call is a request message
 * from caller to callee and a response message back, and both legs are
 * checked. A lost message is silent (the caller sees `SC_ERR_TIMEOUT`); a
 * refused one (dead node, partition) fails at once with
 * `SC_ERR_PEER_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * const net = new MemoryNetwork({ seed: 7 });
 * const a = net.createTransport('a');
 * const b = net.createTransport('b');
 * b.handle('echo', (body) => body);
 * await Promise.all([a.start(), b.start()]);
 * await a.call('b', 'echo', [1n, new Uint8Array([1])]);
 * net.partition(['a'], ['b']); // a → b now fails with SC_ERR_PEER_UNAVAILABLE
 * ```
 */
export class MemoryNetwork {
  readonly #nodes = new Map<string, MemoryTransport>();
  readonly #killed = new Set<string>();
  readonly #partitions: Array<readonly [ReadonlySet<string>, ReadonlySet<string>]> = [];
  #drops: DropRule[] = [];
  #delay: ((from: string, to: string) => number) | undefined;
  readonly #random: () => number;
  readonly #inflight = new Set<InFlight>();
  readonly #stats: NetworkStats = { requests: 0, calls: 0, responses: 0, dropped: 0, refused: 0 };

  constructor(options: MemoryNetworkOptions = {}) {
    this.#random = options.random ?? mulberry32(options.seed ?? 1);
  }

  /**
   * Creates the transport of node `nodeId` on this network. The id of a
   * stopped transport may be taken again (a node restarted with the same
   * id, as a process that exited frees its address); the new node is alive.
   * @throws SuperCacheError `SC_ERR_NAME_TAKEN` when a running transport has the id.
   */
  createTransport(nodeId: string, options: MemoryTransportOptions = {}): MemoryTransport {
    if (typeof nodeId !== 'string' || nodeId.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'nodeId must be a non-empty string');
    }
    const existing = this.#nodes.get(nodeId);
    if (existing !== undefined && !(existing.wasStopped && !existing.isRunning)) {
      throw new SuperCacheError('SC_ERR_NAME_TAKEN', `node ${nodeId} already exists on this network`);
    }
    this.#killed.delete(nodeId);
    const transport = new MemoryTransport(this, nodeId, options);
    this.#nodes.set(nodeId, transport);
    return transport;
  }

  /**
   * Loses messages that match `rule` (all messages when it is empty).
   * Rules add up; {@link heal} removes them.
   */
  drop(rule: DropRule = {}): void {
    const probability = rule.probability ?? 1;
    if (!(probability >= 0 && probability <= 1)) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'probability must be within [0, 1]');
    }
    if (rule.count !== undefined && !(Number.isInteger(rule.count) && rule.count >= 0)) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'count must be a non-negative integer');
    }
    this.#drops.push({ ...rule });
  }

  /**
   * Delays every message by `ms`, or by what `fn(from, to)` returns for it.
   * `0` removes the delay.
   */
  delay(ms: number | ((from: string, to: string) => number)): void {
    if (typeof ms === 'number') {
      if (!(ms >= 0)) throw new SuperCacheError('SC_ERR_BAD_ARG', 'delay must be a non-negative number');
      this.#delay = ms === 0 ? undefined : () => ms;
    } else {
      this.#delay = ms;
    }
  }

  /** Cuts every link between a node of `groupA` and a node of `groupB`, both ways. */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    this.#partitions.push([new Set(groupA), new Set(groupB)]);
  }

  /** Removes every link fault: partitions, drop rules and delay. Dead nodes stay dead. */
  heal(): void {
    this.#partitions.length = 0;
    this.#drops = [];
    this.#delay = undefined;
  }

  /**
   * Kills a node: it neither answers nor sends, and every request in flight
   * to or from it fails with `SC_ERR_PEER_UNAVAILABLE` (a reset connection).
   */
  kill(nodeId: string): void {
    this.#killed.add(nodeId);
    this.#failInflight(nodeId, `node ${nodeId} is down`);
  }

  /** Brings a killed node back (its handlers and state are as they were). */
  revive(nodeId: string): void {
    this.#killed.delete(nodeId);
  }

  /** True when `nodeId` is killed. */
  isKilled(nodeId: string): boolean {
    return this.#killed.has(nodeId);
  }

  /** A snapshot of the counters. */
  stats(): NetworkStats {
    return { ...this.#stats };
  }

  /** @internal Called by a transport that stops. */
  nodeStopped(nodeId: string): void {
    this.#failInflight(nodeId, `node ${nodeId} stopped`);
  }

  #failInflight(nodeId: string, reason: string): void {
    for (const entry of [...this.#inflight]) {
      if (entry.to === nodeId) entry.fail(unavailableError(entry.to, reason));
      else if (entry.from === nodeId) entry.fail(unavailableError(entry.to, reason));
    }
  }

  #refusal(from: string, to: string): string | undefined {
    if (this.#killed.has(from)) return `node ${from} (the sender) is down`;
    const target = this.#nodes.get(to);
    if (target === undefined) return `no node ${to} on the network`;
    if (this.#killed.has(to)) return `node ${to} is down`;
    if (!target.isRunning) return `node ${to} is not started`;
    for (const [a, b] of this.#partitions) {
      if ((a.has(from) && b.has(to)) || (b.has(from) && a.has(to)))
        return `${from} and ${to} are partitioned`;
    }
    return undefined;
  }

  #dropped(from: string, to: string): boolean {
    for (const rule of this.#drops) {
      if (rule.from !== undefined && rule.from !== from) continue;
      if (rule.to !== undefined && rule.to !== to) continue;
      if (rule.count !== undefined) {
        if (rule.count === 0) continue;
        rule.count--;
        this.#stats.dropped++;
        return true;
      }
      if (this.#random() < (rule.probability ?? 1)) {
        this.#stats.dropped++;
        return true;
      }
    }
    return false;
  }

  /** One message from `from` to `to`; failures name `peer`, the callee. */
  async #leg(from: string, to: string, peer: string): Promise<void> {
    const refusal = this.#refusal(from, to);
    if (refusal !== undefined) {
      this.#stats.refused++;
      throw unavailableError(peer, refusal);
    }
    if (this.#dropped(from, to)) await lost();
    const ms = this.#delay?.(from, to) ?? 0;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  async #exchange(from: string, to: string, batch: boolean, request: Uint8Array): Promise<Answer> {
    await this.#leg(from, to, to);
    // Checked again on arrival: the target may have died during the delay.
    const refusal = this.#refusal(from, to);
    if (refusal !== undefined) {
      this.#stats.refused++;
      throw unavailableError(to, refusal);
    }
    const answer = await this.#nodes.get(to)!.serve(batch, request);
    // The response leg: the callee may have died, or the link been cut,
    // while the handler ran.
    await this.#leg(to, from, to);
    this.#stats.responses++;
    return answer;
  }

  /** @internal Sends one request message and resolves with the answer. */
  send(
    from: string,
    to: string,
    batch: boolean,
    request: Uint8Array,
    calls: number,
    signal: AbortSignal,
  ): Promise<Answer> {
    this.#stats.requests++;
    this.#stats.calls += calls;
    return new Promise<Answer>((resolve, reject) => {
      let done = false;
      const entry: InFlight = {
        from,
        to,
        fail: (error) => {
          if (done) return;
          finish();
          reject(error);
        },
      };
      const onAbort = (): void => entry.fail(unavailableError(to, 'request abandoned'));
      const finish = (): void => {
        done = true;
        this.#inflight.delete(entry);
        signal.removeEventListener('abort', onAbort);
      };
      this.#inflight.add(entry);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#exchange(from, to, batch, request).then(
        (answer) => {
          if (done) return;
          finish();
          resolve(answer);
        },
        (error: unknown) => entry.fail(error as SuperCacheError),
      );
    });
  }
}

/**
 * A node's transport on a {@link MemoryNetwork}. Create it with
 * {@link MemoryNetwork.createTransport}.
 */
export class MemoryTransport implements Transport, PeerEndpoint {
  /** This node's id. */
  readonly nodeId: string;
  readonly #network: MemoryNetwork;
  readonly #handlers = new HandlerRegistry();
  readonly #addresses = new Map<string, string>();
  readonly #engine: CallEngine;
  readonly #sender: Uint8Array;
  #running = false;
  #wasStopped = false;

  /** @internal Use {@link MemoryNetwork.createTransport}. */
  constructor(network: MemoryNetwork, nodeId: string, options: MemoryTransportOptions) {
    this.nodeId = nodeId;
    this.#network = network;
    this.#sender = encodeSender(nodeId);
    this.#engine = new CallEngine(
      {
        timeoutMs: options.timeoutMs ?? 5000,
        limits: { maxCalls: options.maxBatchCalls ?? 256, maxBytes: options.maxBatchBytes ?? 1 << 20 },
        flush: options.flush ?? 'microtask',
        retries: options.retries ?? 0,
        retryDelayMs: options.retryDelayMs ?? 25,
      },
      (peer, flight) => this.#sendFlight(peer, flight),
    );
  }

  /** True once this transport was stopped (its id may then be taken by a new one). */
  get wasStopped(): boolean {
    return this.#wasStopped;
  }

  /** True between `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#running;
  }

  /**
   * Calls `method` on `peer`. See {@link Transport.call}.
   * @throws SuperCacheError (as a rejection) `SC_ERR_INVALID_TERM` for a body
   * that cannot be encoded, `SC_ERR_NOT_STARTED` before `start()`, and the
   * codes of the contract.
   */
  call<T = unknown>(peer: string, method: string, body: unknown, options?: CallOptions): Promise<T> {
    return this.#engine.call(peer, method, body, options) as Promise<T>;
  }

  /** Registers (or replaces) the handler of `method`. */
  handle(method: string, handler: PeerHandler): void {
    this.#handlers.set(method, handler);
  }

  /**
   * Where calls to `peer` go: the node whose id is `address` (as a URL is for
   * HTTP). Nodes are found by id until an address says otherwise.
   */
  setPeerAddress(peer: string, address: string): void {
    if (address === peer) this.#addresses.delete(peer);
    else this.#addresses.set(peer, address);
  }

  /** Starts serving and calling; idempotent. */
  async start(): Promise<void> {
    this.#running = true;
    this.#engine.running = true;
  }

  /**
   * Stops; idempotent. Outstanding calls made by this node reject with
   * `SC_ERR_STOPPED`; calls to it fail with `SC_ERR_PEER_UNAVAILABLE`.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wasStopped = true;
    this.#engine.running = false;
    this.#engine.rejectAll(new SuperCacheError('SC_ERR_STOPPED', `transport of ${this.nodeId} stopped`));
    this.#network.nodeStopped(this.nodeId);
  }

  /** Counters of this node's outgoing calls. */
  stats(): TransportStats {
    return this.#engine.stats();
  }

  /** Runs a handler (the receiving side of a call). */
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

  /** @internal Serves one request message, answering as the HTTP routes would. */
  async serve(batch: boolean, request: Uint8Array): Promise<Answer> {
    try {
      const body = batch
        ? await serveBatch(this, parseBatchRequest(request))
        : await serveCall(this, parseCallRequest(request));
      return { status: 200, body };
    } catch (error) {
      const code = SuperCacheError.is(error) ? error.code : 'SC_ERR_INTERNAL';
      return { status: httpStatusOf(code), body: encodeError(error) };
    }
  }

  #sendFlight(peer: string, flight: Flight): void {
    const request = flight.isBatch
      ? encodeBatchRequest(this.#sender, flight.calls)
      : encodeCallRequest(this.#sender, flight.calls[0]!.method, flight.calls[0]!.body);
    this.#network
      .send(
        this.nodeId,
        this.#addresses.get(peer) ?? peer,
        flight.isBatch,
        request,
        flight.calls.length,
        flight.controller.signal,
      )
      .then(
        (answer) => {
          flight.release();
          if (!flight.abandoned) this.#engine.complete(flight, peer, answer.status, answer.body);
        },
        (error: unknown) => {
          flight.release();
          if (flight.abandoned) return;
          const failure = SuperCacheError.is(error) ? error : unavailableError(peer, String(error), error);
          this.#engine.fail(flight, failure, failure.code === 'SC_ERR_PEER_UNAVAILABLE');
        },
      );
  }
}
