import { describe, expect, it } from 'vitest';
import { BufferError, WriteBuffer, type WriteBufferOptions } from '../src/index.js';
import { catchBufferError, type Deferred, deferred, nextTurn, settleState } from './helpers.js';

/** A buffer whose apply records every batch (copied, so later mutation cannot hide a bug). */
function recording<T>(options: Omit<WriteBufferOptions<T>, 'apply'> = {}) {
  const batches: T[][] = [];
  const buffer = new WriteBuffer<T>({ ...options, apply: (batch) => void batches.push([...batch]) });
  return { buffer, batches, items: () => batches.flat() };
}

/** A buffer whose apply waits for the test to release each batch. */
function gated<T>(options: Omit<WriteBufferOptions<T>, 'apply'> = {}) {
  const batches: T[][] = [];
  const gates: Deferred[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const buffer = new WriteBuffer<T>({
    ...options,
    apply: async (batch) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push([...batch]);
      const gate = deferred();
      gates.push(gate);
      try {
        await gate.promise;
      } finally {
        inFlight--;
      }
    },
  });
  /** Releases the oldest unreleased batch (succeeding or failing it). */
  let released = 0;
  const release = (error?: unknown): void => {
    const gate = gates[released++];
    if (gate === undefined) throw new Error('no batch in flight to release');
    if (error === undefined) gate.resolve();
    else gate.reject(error);
  };
  return { buffer, batches, release, maxInFlight: () => maxInFlight, items: () => batches.flat() };
}

describe('WriteBuffer', () => {
  describe('ordering', () => {
    it('applies the items of one batch in the order they were pushed', async () => {
      const { buffer, batches } = recording<number>();
      for (let i = 0; i < 10; i++) void buffer.push(i);
      await buffer.flush();
      expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    });

    it('applies items in push order across many batches', async () => {
      const { buffer, batches, items } = recording<number>({ maxBatch: 3 });
      for (let i = 0; i < 10; i++) void buffer.push(i);
      await buffer.flush();
      expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
      expect(items()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('lets the newest write to a key win, within and across batches', async () => {
      const table = new Map<string, number>();
      const buffer = new WriteBuffer<[string, number]>({
        maxBatch: 2,
        apply: (batch) => {
          for (const [k, v] of batch) table.set(k, v);
        },
      });
      void buffer.push(['a', 1]);
      void buffer.push(['a', 2]); // same batch as ['a', 1]
      void buffer.push(['b', 1]);
      void buffer.push(['a', 3]); // next batch
      void buffer.push(['b', 2]);
      await buffer.flush();
      expect(Object.fromEntries(table)).toEqual({ a: 3, b: 2 });
    });

    it('queues items pushed from inside apply behind the current batch instead of recursing', async () => {
      const seen: number[][] = [];
      let depth = 0;
      let maxDepth = 0;
      const buffer: WriteBuffer<number> = new WriteBuffer<number>({
        maxBatch: 2,
        apply: (batch) => {
          depth++;
          maxDepth = Math.max(maxDepth, depth);
          seen.push([...batch]);
          for (const n of batch) if (n < 4) void buffer.push(n + 10);
          depth--;
        },
      });
      void buffer.push(0);
      void buffer.push(1);
      await buffer.flush();
      await buffer.flush();
      expect(seen).toEqual([
        [0, 1],
        [10, 11],
      ]);
      expect(maxDepth).toBe(1);
    });

    it('never runs two async applies at once, so batches cannot reorder', async () => {
      const { buffer, items, release, maxInFlight } = gated<number>({ maxBatch: 2 });
      for (let i = 0; i < 6; i++) void buffer.push(i);
      const flushed = buffer.flush();
      for (let i = 0; i < 3; i++) {
        await nextTurn();
        release();
      }
      await flushed;
      expect(items()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(maxInFlight()).toBe(1);
    });
  });

  describe('batching', () => {
    it('never hands apply more than maxBatch items', async () => {
      const { buffer, batches } = recording<number>({ maxBatch: 4 });
      for (let i = 0; i < 50; i++) void buffer.push(i);
      await buffer.flush();
      expect(batches.length).toBe(13);
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(4);
    });

    it('applies a full batch as soon as maxBatch items are pending', () => {
      const { buffer, batches } = recording<number>({ maxBatch: 3, flushOn: 'manual' });
      void buffer.push(1);
      void buffer.push(2);
      expect(batches).toEqual([]);
      void buffer.push(3);
      expect(batches).toEqual([[1, 2, 3]]);
    });

    it('coalesces the pushes of one event-loop turn into one batch', async () => {
      const { buffer, batches } = recording<number>();
      void buffer.push(1);
      void buffer.push(2);
      expect(batches).toEqual([]);
      await nextTurn();
      expect(batches).toEqual([[1, 2]]);
      void buffer.push(3);
      await nextTurn();
      expect(batches).toEqual([[1, 2], [3]]);
    });

    it("applies a partial batch on the next microtask with flushOn 'microtask'", async () => {
      const { buffer, batches } = recording<number>({ flushOn: 'microtask' });
      void buffer.push(1);
      void buffer.push(2);
      expect(batches).toEqual([]);
      await Promise.resolve();
      expect(batches).toEqual([[1, 2]]);
    });

    it("keeps a partial batch until flush() with flushOn 'manual'", async () => {
      const { buffer, batches } = recording<number>({ flushOn: 'manual' });
      void buffer.push(1);
      await nextTurn();
      await nextTurn();
      expect(batches).toEqual([]);
      expect(buffer.stats().pending).toBe(1);
      await buffer.flush();
      expect(batches).toEqual([[1]]);
    });

    it('caps a batch at maxPending when maxPending is below maxBatch', async () => {
      const { buffer, batches } = recording<number>({ maxBatch: 10, maxPending: 3, flushOn: 'manual' });
      for (let i = 0; i < 7; i++) await buffer.push(i);
      await buffer.flush();
      expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    });

    it('hands apply a fresh array each time', async () => {
      const seen: number[][] = [];
      const buffer = new WriteBuffer<number>({ maxBatch: 2, apply: (batch) => void seen.push(batch) });
      for (let i = 0; i < 4; i++) void buffer.push(i);
      await buffer.flush();
      expect(seen).toEqual([
        [0, 1],
        [2, 3],
      ]);
      expect(seen[0]).not.toBe(seen[1]);
    });
  });

  describe('backpressure', () => {
    it('tryPush returns false once maxPending items are pending, and enqueues nothing', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 2, maxPending: 4 });
      for (let i = 0; i < 4; i++) expect(buffer.tryPush(i)).toBe(true);
      expect(buffer.tryPush(99)).toBe(false);
      expect(buffer.stats().pending).toBe(4);
      release();
      await nextTurn();
      expect(buffer.tryPush(4)).toBe(true);
      const flushed = buffer.flush();
      release();
      await nextTurn();
      release();
      await flushed;
      expect(items()).toEqual([0, 1, 2, 3, 4]);
    });

    it('push returns a promise when full that resolves once there is room', async () => {
      const { buffer, release } = gated<number>({ maxBatch: 2, maxPending: 2 });
      expect(buffer.push(0)).toBeUndefined();
      expect(buffer.push(1)).toBeUndefined();
      const waiting = buffer.push(2);
      expect(waiting).toBeInstanceOf(Promise);
      const observed = settleState(waiting as Promise<void>);
      await nextTurn();
      expect(observed.state()).toBe('pending');
      expect(buffer.stats()).toMatchObject({ pending: 2, waiting: 1 });
      release();
      await waiting;
      expect(buffer.stats()).toMatchObject({ pending: 1, waiting: 0 });
    });

    it('never lets pending exceed maxPending under a fast producer', async () => {
      let worst = 0;
      const applied: number[] = [];
      const buffer: WriteBuffer<number> = new WriteBuffer<number>({
        maxBatch: 8,
        maxPending: 20,
        apply: async (batch) => {
          worst = Math.max(worst, buffer.stats().pending);
          await nextTurn();
          applied.push(...batch);
        },
      });
      for (let i = 0; i < 500; i++) {
        await buffer.push(i);
        worst = Math.max(worst, buffer.stats().pending);
      }
      await buffer.flush();
      expect(worst).toBeLessThanOrEqual(20);
      expect(buffer.stats().maxPendingSeen).toBe(20);
      expect(applied).toEqual(Array.from({ length: 500 }, (_, i) => i));
    });

    it('admits waiting pushes in call order, behind the queued items', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 2, maxPending: 2 });
      void buffer.push(0);
      void buffer.push(1);
      const waits = [buffer.push(2), buffer.push(3), buffer.push(4)];
      expect(buffer.tryPush(99)).toBe(false);
      const flushed = buffer.flush();
      for (let i = 0; i < 3; i++) {
        await nextTurn();
        release();
      }
      await Promise.all(waits);
      await flushed;
      expect(items()).toEqual([0, 1, 2, 3, 4]);
    });

    it('throws SC_ERR_BUFFER_FULL when maxWaiting pushes already wait', async () => {
      const { buffer, release } = gated<number>({ maxBatch: 1, maxPending: 1, maxWaiting: 2 });
      void buffer.push(0);
      const a = buffer.push(1);
      const b = buffer.push(2);
      const error = catchBufferError(() => buffer.push(3), 'SC_ERR_BUFFER_FULL');
      expect(error.retryable).toBe(true);
      expect(buffer.stats().waiting).toBe(2);
      const flushed = buffer.flush();
      for (let i = 0; i < 3; i++) {
        release();
        await nextTurn();
      }
      await Promise.all([a, b, flushed]);
    });

    it('fails fast with maxWaiting 0: push throws instead of waiting', () => {
      const { buffer } = gated<number>({ maxBatch: 1, maxPending: 1, maxWaiting: 0 });
      void buffer.push(0);
      catchBufferError(() => buffer.push(1), 'SC_ERR_BUFFER_FULL');
      expect(buffer.stats()).toMatchObject({ pending: 1, waiting: 0 });
    });

    it('drops a waiting push whose signal aborts, and rejects it with SC_ERR_ABORTED', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 1, maxPending: 1 });
      void buffer.push(0);
      const controller = new AbortController();
      const waiting = buffer.push(1, { signal: controller.signal });
      const after = buffer.push(2);
      controller.abort(new Error('gave up'));
      const error = await (waiting as Promise<void>).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(BufferError.is(error) && error.code).toBe('SC_ERR_ABORTED');
      expect((error as Error).cause).toEqual(new Error('gave up'));
      expect(buffer.stats().waiting).toBe(1);
      const flushed = buffer.flush();
      release();
      await after;
      await nextTurn();
      release();
      await flushed;
      expect(items()).toEqual([0, 2]);
    });

    it('throws SC_ERR_ABORTED and enqueues nothing when the signal is already aborted', () => {
      const { buffer } = recording<number>();
      catchBufferError(() => buffer.push(1, { signal: AbortSignal.abort() }), 'SC_ERR_ABORTED');
      expect(buffer.stats().pending).toBe(0);
    });
  });

  describe('flush', () => {
    it('resolves once everything pushed before it has been applied', async () => {
      const { buffer, items } = recording<number>({ flushOn: 'manual' });
      for (let i = 0; i < 5; i++) void buffer.push(i);
      await buffer.flush();
      expect(items()).toEqual([0, 1, 2, 3, 4]);
      expect(buffer.stats().pending).toBe(0);
    });

    it('resolves when nothing is pending', async () => {
      const { buffer } = recording<number>();
      await expect(buffer.flush()).resolves.toBeUndefined();
    });

    it('waits for the async apply in flight', async () => {
      const { buffer, release } = gated<number>();
      void buffer.push(1);
      const flushed = settleState(buffer.flush());
      await nextTurn();
      await nextTurn();
      expect(flushed.state()).toBe('pending');
      release();
      await nextTurn();
      expect(flushed.state()).toBe('fulfilled');
    });

    it('waits for pushes that were still waiting for room when it was called', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 1, maxPending: 1 });
      void buffer.push(0);
      const waiting = buffer.push(1);
      const flushed = settleState(buffer.flush());
      release();
      await waiting;
      await nextTurn();
      expect(flushed.state()).toBe('pending');
      release();
      await nextTurn();
      expect(flushed.state()).toBe('fulfilled');
      expect(items()).toEqual([0, 1]);
    });

    it('still resolves when the waiting push it was waiting for is aborted', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 1, maxPending: 1 });
      void buffer.push(0);
      const controller = new AbortController();
      const waiting = settleState(buffer.push(1, { signal: controller.signal }) as Promise<void>);
      const flushed = settleState(buffer.flush());
      controller.abort();
      await nextTurn();
      expect(waiting.state()).toBe('rejected');
      expect(flushed.state()).toBe('pending');
      release();
      await nextTurn();
      expect(flushed.state()).toBe('fulfilled');
      expect(items()).toEqual([0]);
    });

    it('rejects with SC_ERR_ABORTED when its signal aborts, and the items are still applied', async () => {
      const { buffer, release, items } = gated<number>();
      void buffer.push(1);
      const controller = new AbortController();
      const flushed = buffer.flush({ signal: controller.signal });
      controller.abort();
      await expect(flushed).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
      await nextTurn();
      release();
      await buffer.flush();
      expect(items()).toEqual([1]);
    });
  });

  describe('failures', () => {
    it('reports a failed batch to onError and rejects the next flush with the error', async () => {
      const boom = new Error('disk on fire');
      const reported: Array<[unknown, readonly number[]]> = [];
      const buffer = new WriteBuffer<number>({
        apply: (batch) => {
          if (batch.includes(2)) throw boom;
        },
        maxBatch: 2,
        onError: (error, batch) => void reported.push([error, [...batch]]),
      });
      for (let i = 0; i < 6; i++) void buffer.push(i);
      await expect(buffer.flush()).rejects.toBe(boom);
      expect(reported).toEqual([[boom, [2, 3]]]);
      expect(buffer.stats()).toMatchObject({ applied: 4, failed: 2, batches: 3, pending: 0 });
    });

    it('reports each error to one flush only, then resolves again', async () => {
      let fail = true;
      const buffer = new WriteBuffer<number>({
        apply: () => {
          if (fail) throw new Error('once');
        },
      });
      void buffer.push(1);
      await expect(buffer.flush()).rejects.toThrow('once');
      fail = false;
      void buffer.push(2);
      await expect(buffer.flush()).resolves.toBeUndefined();
      expect(buffer.stats()).toMatchObject({ applied: 1, failed: 1 });
    });

    it('surfaces a failure that happened before flush was called', async () => {
      const buffer = new WriteBuffer<number>({
        apply: async () => {
          throw new Error('async failure');
        },
      });
      void buffer.push(1);
      await nextTurn();
      await nextTurn();
      expect(buffer.stats().failed).toBe(1);
      await expect(buffer.flush()).rejects.toThrow('async failure');
    });

    it('does not retry a failed batch and goes on with the next ones', async () => {
      const calls: number[][] = [];
      const buffer = new WriteBuffer<number>({
        maxBatch: 1,
        apply: (batch) => {
          calls.push([...batch]);
          if (batch[0] === 1) throw new Error('bad item');
        },
      });
      for (let i = 0; i < 3; i++) void buffer.push(i);
      await expect(buffer.flush()).rejects.toThrow('bad item');
      await buffer.flush();
      expect(calls).toEqual([[0], [1], [2]]);
      expect(buffer.stats()).toMatchObject({ applied: 2, failed: 1, batches: 3 });
    });

    it('keeps working when onError itself throws', async () => {
      const buffer = new WriteBuffer<number>({
        apply: (batch) => {
          if (batch[0] === 0) throw new Error('apply');
        },
        maxBatch: 1,
        onError: () => {
          throw new Error('handler');
        },
      });
      void buffer.push(0);
      void buffer.push(1);
      await expect(buffer.flush()).rejects.toThrow('apply');
      expect(buffer.stats()).toMatchObject({ applied: 1, failed: 1 });
    });

    it('rejects stop() with an unreported failure and stops all the same', async () => {
      const buffer = new WriteBuffer<number>({
        apply: () => {
          throw new Error('lost');
        },
      });
      void buffer.push(1);
      await expect(buffer.stop()).rejects.toThrow('lost');
      expect(buffer.state).toBe('stopped');
    });
  });

  describe('lifecycle', () => {
    it('stop drains pending items, then refuses push and tryPush with SC_ERR_BUFFER_STOPPED', async () => {
      const { buffer, items } = recording<number>({ flushOn: 'manual' });
      void buffer.push(1);
      void buffer.push(2);
      await buffer.stop();
      expect(items()).toEqual([1, 2]);
      expect(buffer.state).toBe('stopped');
      const error = catchBufferError(() => buffer.push(3), 'SC_ERR_BUFFER_STOPPED');
      expect(error.retryable).toBe(false);
      catchBufferError(() => buffer.tryPush(3), 'SC_ERR_BUFFER_STOPPED');
    });

    it('refuses pushes while stopping', async () => {
      const { buffer, release } = gated<number>();
      void buffer.push(1);
      const stopped = buffer.stop();
      expect(buffer.state).toBe('stopping');
      catchBufferError(() => buffer.push(2), 'SC_ERR_BUFFER_STOPPED');
      release();
      await stopped;
      expect(buffer.state).toBe('stopped');
    });

    it('drains pushes that were waiting for room when stop was called', async () => {
      const { buffer, release, items } = gated<number>({ maxBatch: 1, maxPending: 1 });
      void buffer.push(0);
      const waiting = buffer.push(1);
      const stopped = buffer.stop();
      release();
      await waiting;
      await nextTurn();
      release();
      await stopped;
      expect(items()).toEqual([0, 1]);
    });

    it('is idempotent: stop while stopping returns the same promise, stop when stopped resolves', async () => {
      const { buffer, release } = gated<number>();
      void buffer.push(1);
      const first = buffer.stop();
      expect(buffer.stop()).toBe(first);
      release();
      await first;
      await expect(buffer.stop()).resolves.toBeUndefined();
      expect(buffer.state).toBe('stopped');
    });

    it('start is a no-op when running and reopens a stopped buffer', async () => {
      const { buffer, items } = recording<number>();
      buffer.start();
      expect(buffer.state).toBe('running');
      void buffer.push(1);
      await buffer.stop();
      buffer.start();
      buffer.start();
      expect(buffer.state).toBe('running');
      void buffer.push(2);
      await buffer.flush();
      expect(items()).toEqual([1, 2]);
    });

    it('stays running when start is called while stopping', async () => {
      const { buffer, release, items } = gated<number>();
      void buffer.push(1);
      const stopped = buffer.stop();
      buffer.start();
      void buffer.push(2);
      release();
      await stopped;
      expect(buffer.state).toBe('running');
      await nextTurn();
      release();
      await buffer.flush();
      expect(items()).toEqual([1, 2]);
    });

    it('a later stop is not cut short by an earlier one that was superseded by start', async () => {
      const { buffer, release } = gated<number>({ maxBatch: 1 });
      void buffer.push(1);
      const first = buffer.stop();
      buffer.start();
      void buffer.push(2);
      const second = buffer.stop();
      expect(second).not.toBe(first);
      release();
      await first;
      expect(buffer.state).toBe('stopping');
      await nextTurn();
      release();
      await second;
      expect(buffer.state).toBe('stopped');
    });
  });

  describe('stats', () => {
    it('counts pending, applied, batches, failed and maxPendingSeen', async () => {
      const { buffer, release } = gated<number>({ maxBatch: 2 });
      expect(buffer.stats()).toEqual({
        pending: 0,
        applied: 0,
        batches: 0,
        failed: 0,
        maxPendingSeen: 0,
        waiting: 0,
      });
      for (let i = 0; i < 5; i++) void buffer.push(i);
      expect(buffer.stats()).toMatchObject({ pending: 5, maxPendingSeen: 5, batches: 0 });
      const flushed = buffer.flush().catch((e: unknown) => e);
      release();
      await nextTurn();
      expect(buffer.stats()).toMatchObject({ pending: 3, applied: 2, batches: 1 });
      release(new Error('second batch fails'));
      await nextTurn();
      release();
      expect(await flushed).toEqual(new Error('second batch fails'));
      expect(buffer.stats()).toEqual({
        pending: 0,
        applied: 3,
        batches: 3,
        failed: 2,
        maxPendingSeen: 5,
        waiting: 0,
      });
    });
  });

  describe('options', () => {
    const apply = (): void => {};

    it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null])(
      'rejects maxBatch %s with SC_ERR_BAD_ARG',
      (maxBatch) => {
        const error = catchBufferError(
          () => new WriteBuffer({ apply, maxBatch: maxBatch as number }),
          'SC_ERR_BAD_ARG',
        );
        expect(error.details).toMatchObject({ option: 'maxBatch' });
      },
    );

    it.each([0, -5, 2.5, Number.POSITIVE_INFINITY])(
      'rejects maxPending %s with SC_ERR_BAD_ARG',
      (maxPending) => {
        catchBufferError(() => new WriteBuffer({ apply, maxPending }), 'SC_ERR_BAD_ARG');
      },
    );

    it.each([-1, 0.5, Number.POSITIVE_INFINITY])(
      'rejects maxWaiting %s with SC_ERR_BAD_ARG',
      (maxWaiting) => {
        catchBufferError(() => new WriteBuffer({ apply, maxWaiting }), 'SC_ERR_BAD_ARG');
      },
    );

    it('rejects a missing apply, a non-function onError, an unknown flushOn and a non-object', () => {
      catchBufferError(() => new WriteBuffer({} as WriteBufferOptions<number>), 'SC_ERR_BAD_ARG');
      catchBufferError(
        () => new WriteBuffer({ apply, onError: 'log' as unknown as () => void }),
        'SC_ERR_BAD_ARG',
      );
      catchBufferError(
        () => new WriteBuffer({ apply, flushOn: 'tick' as unknown as 'manual' }),
        'SC_ERR_BAD_ARG',
      );
      catchBufferError(
        () => new WriteBuffer(null as unknown as WriteBufferOptions<number>),
        'SC_ERR_BAD_ARG',
      );
    });

    it('accepts the smallest legal limits', async () => {
      const { buffer, items } = recording<number>({ maxBatch: 1, maxPending: 1, maxWaiting: 0 });
      void buffer.push(1);
      void buffer.push(2);
      await buffer.flush();
      expect(items()).toEqual([1, 2]);
    });

    it('defaults to batches of 1024', async () => {
      const { buffer, batches } = recording<number>({ flushOn: 'manual' });
      for (let i = 0; i < 2050; i++) void buffer.push(i);
      expect(batches.map((b) => b.length)).toEqual([1024, 1024]);
      await buffer.flush();
      expect(batches.map((b) => b.length)).toEqual([1024, 1024, 2]);
    });
  });
});
