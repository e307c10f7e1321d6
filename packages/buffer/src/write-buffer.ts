import { BufferError } from './errors.js';

/**
 * When a partly filled batch is applied.
 *
 * - `'immediate'`: on the next `setImmediate`, i.e. once per event-loop turn,
 *   after the current I/O callbacks. Coalesces everything pushed during one
 *   turn into as few batches as `maxBatch` allows.
 * - `'microtask'`: on the next microtask. Lower latency, smaller batches:
 *   only synchronous runs of pushes are coalesced.
 * - `'manual'`: never on a timer. Items are applied only when a batch is full
 *   or when {@link WriteBuffer.flush} or {@link WriteBuffer.stop} is called.
 *
 * A full batch (`maxBatch` items) is applied at once in every mode.
 */
export type FlushOn = 'immediate' | 'microtask' | 'manual';

/**
 * Lifecycle state of a {@link WriteBuffer}.
 *
 * - `'running'`: accepts items.
 * - `'stopping'`: `stop()` was called; refuses new items while it drains.
 * - `'stopped'`: drained; refuses new items until `start()`.
 */
export type BufferState = 'running' | 'stopping' | 'stopped';

/** Options of a {@link WriteBuffer}. */
export interface WriteBufferOptions<T> {
  /**
   * Applies one batch, in push order. Called with at most one batch in flight:
   * if it returns a promise, the next batch waits for it to settle, so batches
   * never overlap or reorder. The array is handed over: the buffer keeps no
   * reference to it (except to pass it to `onError`).
   *
   * Throwing, or returning a promise that rejects, fails the whole batch: its
   * items are counted in `stats().failed`, the error goes to `onError` and to
   * the next `flush()` / `stop()`. The batch is not retried.
   */
  apply: (batch: T[]) => void | PromiseLike<void>;
  /**
   * Largest number of items handed to one `apply` call. A batch is applied as
   * soon as it holds this many items, without waiting for the tick. `1`
   * disables coalescing (one `apply` per item). `0`, negatives and
   * non-integers are rejected. The effective limit is
   * `Math.min(maxBatch, maxPending)`.
   *
   * @defaultValue `1024`
   */
  maxBatch?: number;
  /**
   * Most items that may be pending, counting queued items and the batch that
   * `apply` is working on. When it is reached, `push` waits for room (returns
   * a promise) and `tryPush` returns `false`. Memory held by queued items is
   * bounded by this number plus the `maxWaiting` items held by waiting pushes.
   * Must be an integer `>= 1`; `0` and `Infinity` are rejected, since the
   * buffer must never grow without limit.
   *
   * @defaultValue `65536`
   */
  maxPending?: number;
  /**
   * Most `push` calls that may wait for room at the same time. One more
   * throws a `BufferError` with code `SC_ERR_BUFFER_FULL` (retryable). `0`
   * makes `push` fail fast: it never waits, it throws when the buffer is
   * full. Must be an integer `>= 0` (`Infinity` is rejected).
   *
   * @defaultValue `65536`
   */
  maxWaiting?: number;
  /**
   * When a partly filled batch is applied; see {@link FlushOn}.
   *
   * @defaultValue `'immediate'`
   */
  flushOn?: FlushOn;
  /**
   * Called synchronously with the error and the batch (the same array given
   * to `apply`) each time a batch fails. The same error also rejects the next
   * `flush()` / `stop()`. An exception thrown by `onError` itself is ignored,
   * so a faulty handler cannot stall the buffer.
   *
   * @defaultValue none: failures are reported only to `flush()` / `stop()` and
   * counted in `stats().failed`.
   */
  onError?: (error: unknown, batch: readonly T[]) => void;
}

/** Options of {@link WriteBuffer.push}. */
export interface PushOptions {
  /**
   * Abandons the wait for room. The item is then not enqueued and the
   * returned promise rejects with `SC_ERR_ABORTED`. An already aborted signal
   * makes `push` throw at once without enqueuing, even when there is room.
   */
  signal?: AbortSignal;
}

/** Options of {@link WriteBuffer.flush}. */
export interface FlushOptions {
  /**
   * Stops waiting: the promise rejects with `SC_ERR_ABORTED`. The items are
   * still applied; only the wait is abandoned.
   */
  signal?: AbortSignal;
}

/** Counters returned by {@link WriteBuffer.stats}. */
export interface WriteBufferStats {
  /** Items accepted but not yet applied (queued plus the batch in flight). */
  readonly pending: number;
  /** Items whose batch `apply` completed without error. */
  readonly applied: number;
  /** Batches `apply` has finished with, successfully or not (the one in flight is not counted yet). */
  readonly batches: number;
  /** Items whose batch `apply` failed; they are not retried. */
  readonly failed: number;
  /** Highest `pending` observed since construction; never above `maxPending`. */
  readonly maxPendingSeen: number;
  /** `push` calls currently waiting for room; never above `maxWaiting`. */
  readonly waiting: number;
}

/** A `push` waiting for room. */
interface Waiter<T> {
  item: T | undefined;
  /** Admitted or aborted: nothing more may happen to it. */
  settled: boolean;
  readonly resolve: () => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** Flushes called while this was the last waiter: they wait for its item. */
  flushes: FlushRecord[] | undefined;
}

/** A pending `flush()`. */
interface FlushRecord {
  /** Admission count to reach; `-1` while it waits on a waiter's admission. */
  target: number;
  settled: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const DEFAULT_MAX_BATCH = 1024;
const DEFAULT_MAX_PENDING = 65_536;
const DEFAULT_MAX_WAITING = 65_536;
const FLUSH_ON: readonly FlushOn[] = ['immediate', 'microtask', 'manual'];

/**
 * A bounded, ordered write buffer that coalesces items into batches: the
 * engine behind SuperCache's `lazyPut`.
 *
 * Items are applied in exactly the order they were pushed, within and across
 * batches, so of two writes to the same key the newer one wins. A partly
 * filled batch is applied at the end of the tick (see {@link FlushOn}); a full
 * one at once. The buffer is running as soon as it is constructed.
 *
 * @typeParam T - the item type (for example a record to insert).
 *
 * @example
 * ```ts
 * const table = new Map<string, number>();
 * const buffer = new WriteBuffer<[string, number]>({
 *   apply: (batch) => { for (const [k, v] of batch) table.set(k, v); },
 * });
 * buffer.push(['a', 1]);
 * buffer.push(['a', 2]);
 * await buffer.flush(); // table.get('a') === 2
 * await buffer.stop();
 * ```
 */
export class WriteBuffer<T> {
  readonly #apply: (batch: T[]) => void | PromiseLike<void>;
  readonly #onError: ((error: unknown, batch: readonly T[]) => void) | undefined;
  readonly #batchLimit: number;
  readonly #maxPending: number;
  readonly #maxWaiting: number;
  readonly #flushOn: FlushOn;

  #state: BufferState = 'running';
  /** Bumped by every start/stop, so a superseded stop does not mark the buffer stopped. */
  #generation = 0;
  #stopping: Promise<void> | undefined;

  /** The batch being filled. */
  #current: T[] = [];
  /** Full batches waiting for `apply`, oldest first, from `#readyHead`. */
  #ready: T[][] = [];
  #readyHead = 0;
  /** Items in `#current` and `#ready`. */
  #queued = 0;
  /** Items in the batch `apply` is working on. */
  #inFlight = 0;
  /** True while the drain loop runs or an async `apply` is outstanding. */
  #busy = false;
  #tickScheduled = false;
  /** Set by the tick: apply the partly filled batch too. */
  #wantPartial = false;

  /** Items ever admitted into the queue. */
  #admitted = 0;
  /** Items whose batch completed (applied or failed); a prefix of admission order. */
  #done = 0;
  #applied = 0;
  #failed = 0;
  #batches = 0;
  #maxPendingSeen = 0;
  /** First apply error not yet reported to a flush()/stop(). */
  #failure: { readonly error: unknown } | undefined;

  /** Pushes waiting for room, FIFO from `#waiterHead`; settled ones are skipped. */
  #waiters: Waiter<T>[] = [];
  #waiterHead = 0;
  #liveWaiters = 0;
  #flushes: FlushRecord[] = [];

  /**
   * @param options - the `apply` callback and limits; see {@link WriteBufferOptions}.
   * @throws BufferError `SC_ERR_BAD_ARG` when `apply` is not a function,
   *   `maxBatch` or `maxPending` is not an integer `>= 1`, `maxWaiting` is not
   *   an integer `>= 0`, `flushOn` is not a {@link FlushOn}, or `onError` is
   *   given but not a function.
   */
  constructor(options: WriteBufferOptions<T>) {
    if (typeof options !== 'object' || options === null) {
      throw badArg('WriteBuffer options must be an object', 'options', options);
    }
    if (typeof options.apply !== 'function') {
      throw badArg('WriteBuffer option "apply" must be a function', 'apply', options.apply);
    }
    const onError: unknown = options.onError;
    if (onError !== undefined && typeof onError !== 'function') {
      throw badArg('WriteBuffer option "onError" must be a function', 'onError', onError);
    }
    const maxBatch = intOption(options.maxBatch, 'maxBatch', DEFAULT_MAX_BATCH, 1);
    const maxPending = intOption(options.maxPending, 'maxPending', DEFAULT_MAX_PENDING, 1);
    const maxWaiting = intOption(options.maxWaiting, 'maxWaiting', DEFAULT_MAX_WAITING, 0);
    const flushOn: unknown = options.flushOn ?? 'immediate';
    if (!FLUSH_ON.includes(flushOn as FlushOn)) {
      throw badArg(`WriteBuffer option "flushOn" must be one of ${FLUSH_ON.join(', ')}`, 'flushOn', flushOn);
    }
    this.#apply = options.apply;
    this.#onError = options.onError;
    this.#batchLimit = Math.min(maxBatch, maxPending);
    this.#maxPending = maxPending;
    this.#maxWaiting = maxWaiting;
    this.#flushOn = flushOn as FlushOn;
  }

  /** Current lifecycle state; see {@link BufferState}. */
  get state(): BufferState {
    return this.#state;
  }

  /**
   * Enqueues one item.
   *
   * When there is room the item is enqueued synchronously and `push` returns
   * `undefined`. If that fills a batch, the batch is applied before `push`
   * returns (when no other batch is in flight), so a synchronous `apply` keeps
   * a synchronous producer within `maxBatch` items.
   *
   * When `maxPending` items are pending, or earlier pushes are still waiting,
   * `push` applies backpressure: it returns a promise that resolves once the
   * item has been enqueued (not applied; use {@link flush} for that). Waiting
   * pushes are admitted in call order, so order is preserved. Await it before
   * pushing more, or the waiting pushes pile up until `maxWaiting`.
   *
   * @param item - the item; it reaches `apply` unchanged.
   * @param options - an optional `signal` to abandon the wait.
   * @returns `undefined` when enqueued at once, else a promise of enqueuing.
   * @throws BufferError `SC_ERR_BUFFER_STOPPED` when the buffer is stopping or stopped.
   * @throws BufferError `SC_ERR_BUFFER_FULL` (retryable) when the push would
   *   have to wait and `maxWaiting` pushes are already waiting.
   * @throws BufferError `SC_ERR_ABORTED` when `options.signal` is already aborted;
   *   the returned promise rejects with it when the signal aborts the wait.
   */
  push(item: T, options?: PushOptions): void | Promise<void> {
    if (this.#state !== 'running') throw stoppedError(this.#state);
    const signal = options?.signal;
    if (signal?.aborted) throw abortedError(signal);
    if (this.#liveWaiters === 0 && this.#queued + this.#inFlight < this.#maxPending) {
      this.#admit(item);
      return;
    }
    if (this.#liveWaiters >= this.#maxWaiting) {
      throw new BufferError('SC_ERR_BUFFER_FULL', 'WriteBuffer is full and too many pushes are waiting', {
        retryable: true,
        details: { maxPending: this.#maxPending, maxWaiting: this.#maxWaiting },
      });
    }
    return this.#wait(item, signal);
  }

  /**
   * Enqueues one item only if that can be done now, without waiting.
   *
   * @param item - the item.
   * @returns `true` when enqueued; `false` when the buffer is full or earlier
   *   pushes are waiting for room (the item is then not enqueued).
   * @throws BufferError `SC_ERR_BUFFER_STOPPED` when the buffer is stopping or stopped.
   */
  tryPush(item: T): boolean {
    if (this.#state !== 'running') throw stoppedError(this.#state);
    if (this.#liveWaiters === 0 && this.#queued + this.#inFlight < this.#maxPending) {
      this.#admit(item);
      return true;
    }
    return false;
  }

  /**
   * Applies everything pending now, without waiting for the tick.
   *
   * Resolves when every item pushed before the call has been through `apply`,
   * including pushes still waiting for room at the time of the call. Rejects
   * with the first `apply` error not yet reported to an earlier `flush()` /
   * `stop()`: an error is reported once, to the calls that settle next.
   * A rejection does not undo anything; the other batches are still applied.
   *
   * @param options - an optional `signal` to stop waiting.
   * @throws BufferError `SC_ERR_ABORTED` (as a rejection) when the signal aborts.
   */
  flush(options?: FlushOptions): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    return new Promise<void>((resolve, reject) => {
      const record: FlushRecord = { target: -1, settled: false, resolve, reject, signal, onAbort: undefined };
      const tail = this.#lastLiveWaiter(this.#waiters.length);
      if (tail === undefined) record.target = this.#admitted;
      else (tail.flushes ??= []).push(record);
      this.#flushes.push(record);
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (record.settled) return;
          record.settled = true;
          const i = this.#flushes.indexOf(record);
          if (i >= 0) this.#flushes.splice(i, 1);
          reject(abortedError(signal));
        };
        record.onAbort = onAbort;
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.#settleFlushes();
      this.#kick();
    });
  }

  /**
   * Makes a stopped (or stopping) buffer accept items again. Idempotent: a
   * no-op on a running buffer. A buffer is running from construction, so this
   * is needed only after {@link stop}. Called while stopping, the drain goes
   * on and the pending `stop()` promise still settles, but the buffer stays
   * running.
   */
  start(): void {
    if (this.#state === 'running') return;
    this.#state = 'running';
    this.#generation++;
    this.#stopping = undefined;
  }

  /**
   * Refuses new items at once, drains everything accepted before the call
   * (including waiting pushes), then marks the buffer stopped. Idempotent:
   * calling it again while stopping returns the same promise; on a stopped
   * buffer it resolves at once.
   *
   * Rejects, like {@link flush}, with an unreported `apply` error; the buffer
   * is stopped all the same.
   */
  stop(): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    if (this.#state === 'stopping' && this.#stopping !== undefined) return this.#stopping;
    this.#state = 'stopping';
    const generation = ++this.#generation;
    const stopping = this.flush().finally(() => {
      if (this.#generation === generation && this.#state === 'stopping') {
        this.#state = 'stopped';
        this.#stopping = undefined;
      }
    });
    this.#stopping = stopping;
    return stopping;
  }

  /** A snapshot of the counters; see {@link WriteBufferStats}. */
  stats(): WriteBufferStats {
    return {
      pending: this.#queued + this.#inFlight,
      applied: this.#applied,
      batches: this.#batches,
      failed: this.#failed,
      maxPendingSeen: this.#maxPendingSeen,
      waiting: this.#liveWaiters,
    };
  }

  /** Puts an item at the end of the queue; the caller has checked for room. */
  #admit(item: T): void {
    const current = this.#current;
    current.push(item);
    this.#admitted++;
    const pending = ++this.#queued + this.#inFlight;
    if (pending > this.#maxPendingSeen) this.#maxPendingSeen = pending;
    if (current.length >= this.#batchLimit) {
      this.#ready.push(current);
      this.#current = [];
      this.#kick();
    } else if (!this.#tickScheduled && this.#flushOn !== 'manual') {
      this.#tickScheduled = true;
      if (this.#flushOn === 'immediate') setImmediate(this.#onTick);
      else queueMicrotask(this.#onTick);
    }
  }

  readonly #onTick = (): void => {
    this.#tickScheduled = false;
    this.#wantPartial = true;
    this.#kick();
  };

  #wait(item: T, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter<T> = {
        item,
        settled: false,
        resolve,
        signal,
        onAbort: undefined,
        flushes: undefined,
      };
      this.#waiters.push(waiter);
      this.#liveWaiters++;
      if (signal === undefined) return;
      const onAbort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        waiter.item = undefined;
        this.#liveWaiters--;
        reject(abortedError(signal));
        const flushes = waiter.flushes;
        if (flushes !== undefined) {
          // Those flushes waited for everything pushed up to this item: now
          // that it will never be enqueued, they wait for the one before it.
          waiter.flushes = undefined;
          const previous = this.#lastLiveWaiter(this.#waiters.indexOf(waiter, this.#waiterHead));
          if (previous !== undefined) (previous.flushes ??= []).push(...flushes);
          else for (const f of flushes) f.target = this.#admitted;
          this.#settleFlushes();
        }
        if (this.#liveWaiters === 0) {
          this.#waiters = [];
          this.#waiterHead = 0;
        }
      };
      waiter.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The last waiter before index `end` that is neither admitted nor aborted. */
  #lastLiveWaiter(end: number): Waiter<T> | undefined {
    if (this.#liveWaiters === 0) return undefined;
    const waiters = this.#waiters;
    for (let i = end - 1; i >= this.#waiterHead; i--) {
      const w = waiters[i]!;
      if (!w.settled) return w;
    }
    return undefined;
  }

  /** Admits waiting pushes, oldest first, while there is room. */
  #admitWaiters(): void {
    const waiters = this.#waiters;
    while (this.#liveWaiters > 0 && this.#queued + this.#inFlight < this.#maxPending) {
      const w = waiters[this.#waiterHead++]!;
      if (w.settled) continue;
      w.settled = true;
      this.#liveWaiters--;
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      const item = w.item as T;
      w.item = undefined;
      this.#admit(item);
      if (w.flushes !== undefined) for (const f of w.flushes) f.target = this.#admitted;
      w.flushes = undefined;
      w.resolve();
    }
    if (this.#liveWaiters === 0) {
      if (waiters.length > 0) {
        this.#waiters = [];
        this.#waiterHead = 0;
      }
    } else if (this.#waiterHead > 1024 && this.#waiterHead * 2 > waiters.length) {
      waiters.splice(0, this.#waiterHead);
      this.#waiterHead = 0;
    }
  }

  /** Starts the drain loop unless it is already running. */
  #kick(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#run();
  }

  /**
   * Applies batches one at a time. Runs synchronously through synchronous
   * `apply` calls; an async one hands over to its continuation. Only one
   * instance runs at a time (guarded by `#busy`), so batches never overlap.
   */
  #run(): void {
    for (;;) {
      const batch = this.#take();
      if (batch === undefined) {
        this.#busy = false;
        return;
      }
      let result: void | PromiseLike<void>;
      try {
        const apply = this.#apply;
        result = apply(batch);
      } catch (error) {
        this.#complete(batch, true, error);
        continue;
      }
      if (result !== undefined && result !== null && typeof result.then === 'function') {
        void Promise.resolve(result).then(
          () => this.#resume(batch, false, undefined),
          (error: unknown) => this.#resume(batch, true, error),
        );
        return;
      }
      this.#complete(batch, false, undefined);
    }
  }

  #resume(batch: T[], failed: boolean, error: unknown): void {
    this.#complete(batch, failed, error);
    this.#run();
  }

  /** The next batch to apply, or `undefined` when nothing is due. */
  #take(): T[] | undefined {
    let batch: T[] | undefined;
    if (this.#readyHead < this.#ready.length) {
      batch = this.#ready[this.#readyHead++]!;
      if (this.#readyHead === this.#ready.length) {
        this.#ready = [];
        this.#readyHead = 0;
      } else if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
        this.#ready.splice(0, this.#readyHead);
        this.#readyHead = 0;
      }
    } else if (this.#current.length > 0 && (this.#wantPartial || this.#flushes.length > 0)) {
      batch = this.#current;
      this.#current = [];
      this.#wantPartial = false;
    } else {
      return undefined;
    }
    this.#queued -= batch.length;
    this.#inFlight = batch.length;
    return batch;
  }

  /** Books a finished batch, then lets waiting pushes in and settles flushes. */
  #complete(batch: T[], failed: boolean, error: unknown): void {
    const n = batch.length;
    this.#inFlight = 0;
    this.#done += n;
    this.#batches++;
    if (failed) {
      this.#failed += n;
      this.#failure ??= { error };
      const onError = this.#onError;
      if (onError !== undefined) {
        try {
          onError(error, batch);
        } catch {
          // A throwing handler must not stall the buffer; the error itself
          // still reaches the next flush()/stop().
        }
      }
    } else {
      this.#applied += n;
    }
    this.#admitWaiters();
    this.#settleFlushes();
  }

  /** Settles every flush whose items are all done. */
  #settleFlushes(): void {
    const flushes = this.#flushes;
    if (flushes.length === 0) return;
    let due: FlushRecord[] | undefined;
    let kept = 0;
    for (let i = 0; i < flushes.length; i++) {
      const f = flushes[i]!;
      if (f.target >= 0 && f.target <= this.#done) (due ??= []).push(f);
      else flushes[kept++] = f;
    }
    if (due === undefined) return;
    flushes.length = kept;
    const failure = this.#failure;
    this.#failure = undefined;
    for (const f of due) {
      f.settled = true;
      if (f.onAbort !== undefined) f.signal?.removeEventListener('abort', f.onAbort);
      if (failure === undefined) f.resolve();
      else f.reject(failure.error);
    }
  }
}

function badArg(message: string, option: string, value: unknown): BufferError {
  return new BufferError('SC_ERR_BAD_ARG', message, { details: { option, value } });
}

function intOption(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw badArg(`WriteBuffer option "${name}" must be an integer >= ${min}`, name, value);
  }
  return value;
}

function stoppedError(state: BufferState): BufferError {
  return new BufferError('SC_ERR_BUFFER_STOPPED', `WriteBuffer is ${state}; call start() to accept items`, {
    details: { state },
  });
}

function abortedError(signal: AbortSignal): BufferError {
  return new BufferError('SC_ERR_ABORTED', 'WriteBuffer operation aborted', { cause: signal.reason });
}
