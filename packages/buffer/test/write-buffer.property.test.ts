import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BufferError, type FlushOn, WriteBuffer } from '../src/index.js';
import { nextTurn } from './helpers.js';

/**
 * Model: the buffer is a FIFO. Every accepted item reaches `apply` exactly once,
 * in push order; a flush returns only after every item accepted before it did.
 * Set FC_SEED to replay a failure; fast-check prints the seed and path.
 */
// A fixed seed (overridable with FC_SEED to replay or explore), printed so a
// failure names the run.
const seed = process.env.FC_SEED === undefined ? 20_261_207 : Number(process.env.FC_SEED);
console.log(`write-buffer property seed: ${seed}`);

type Op =
  | { readonly kind: 'push'; readonly count: number }
  | { readonly kind: 'pushAwait' }
  | { readonly kind: 'tryPush' }
  | { readonly kind: 'pushAbort' }
  | { readonly kind: 'flush' }
  | { readonly kind: 'turn' }
  | { readonly kind: 'microtask' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('push' as const), count: fc.integer({ min: 1, max: 12 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'pushAwait' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'tryPush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pushAbort' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'turn' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'microtask' as const }) },
);

const configArb = fc.record({
  maxBatch: fc.integer({ min: 1, max: 8 }),
  maxPending: fc.integer({ min: 1, max: 16 }),
  maxWaiting: fc.integer({ min: 0, max: 20 }),
  flushOn: fc.constantFrom<FlushOn>('immediate', 'microtask', 'manual'),
  applyMode: fc.constantFrom('sync', 'microtask', 'turn'),
  /** Batches whose first item is divisible by this fail; 0 = none fail. */
  failEvery: fc.constantFrom(0, 0, 3, 7),
});

describe('WriteBuffer (property)', () => {
  it('applies exactly the accepted items, in push order, under random push/flush sequences', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(opArb, { maxLength: 40 }), async (config, ops) => {
        const log: number[][] = [];
        const thrown: Error[] = [];
        const reported: unknown[] = [];
        const rejections: unknown[] = [];
        let worstPending = 0;
        const batchLimit = Math.min(config.maxBatch, config.maxPending);

        const buffer: WriteBuffer<number> = new WriteBuffer<number>({
          maxBatch: config.maxBatch,
          maxPending: config.maxPending,
          maxWaiting: config.maxWaiting,
          flushOn: config.flushOn,
          onError: (error) => void reported.push(error),
          apply: (batch) => {
            worstPending = Math.max(worstPending, buffer.stats().pending);
            log.push([...batch]);
            const fail = config.failEvery > 0 && batch[0]! % config.failEvery === 0;
            const error = new Error(`batch starting at ${batch[0]}`);
            if (fail) thrown.push(error);
            if (config.applyMode === 'sync') {
              if (fail) throw error;
              return;
            }
            const wait = config.applyMode === 'turn' ? nextTurn() : Promise.resolve();
            return wait.then(() => {
              if (fail) throw error;
            });
          },
        });

        const accepted: number[] = [];
        const waits: Promise<void>[] = [];
        let next = 0;
        const flushAndCheck = async (): Promise<void> => {
          const before = accepted.length;
          try {
            await buffer.flush();
          } catch (error) {
            rejections.push(error);
          }
          // Everything accepted before the call has been through apply, in order.
          expect(log.flat().slice(0, before)).toEqual(accepted.slice(0, before));
        };

        for (const op of ops) {
          switch (op.kind) {
            case 'push':
              for (let i = 0; i < op.count; i++) {
                const item = next++;
                try {
                  const waiting = buffer.push(item);
                  if (waiting !== undefined) waits.push(waiting);
                  accepted.push(item);
                } catch (error) {
                  if (!(BufferError.is(error) && error.code === 'SC_ERR_BUFFER_FULL')) throw error;
                }
              }
              break;
            case 'pushAwait': {
              const item = next++;
              try {
                const waiting = buffer.push(item);
                accepted.push(item);
                await waiting;
              } catch (error) {
                if (!(BufferError.is(error) && error.code === 'SC_ERR_BUFFER_FULL')) throw error;
              }
              break;
            }
            case 'tryPush': {
              const item = next++;
              if (buffer.tryPush(item)) accepted.push(item);
              break;
            }
            case 'pushAbort': {
              const item = next++;
              const controller = new AbortController();
              try {
                const waiting = buffer.push(item, { signal: controller.signal });
                controller.abort();
                if (waiting === undefined) accepted.push(item);
                else await expect(waiting).rejects.toMatchObject({ code: 'SC_ERR_ABORTED' });
              } catch (error) {
                if (!(BufferError.is(error) && error.code === 'SC_ERR_BUFFER_FULL')) throw error;
              }
              break;
            }
            case 'flush':
              await flushAndCheck();
              break;
            case 'turn':
              await nextTurn();
              break;
            case 'microtask':
              await Promise.resolve();
              break;
          }
          expect(buffer.stats().pending).toBeLessThanOrEqual(config.maxPending);
          expect(buffer.stats().waiting).toBeLessThanOrEqual(config.maxWaiting);
        }

        try {
          await buffer.stop();
        } catch (error) {
          rejections.push(error);
        }
        await Promise.all(waits);

        expect(log.flat()).toEqual(accepted);
        for (const batch of log) expect(batch.length).toBeLessThanOrEqual(batchLimit);
        expect(worstPending).toBeLessThanOrEqual(config.maxPending);
        const failedItems = log.filter((b) => config.failEvery > 0 && b[0]! % config.failEvery === 0).flat();
        expect(buffer.stats()).toEqual({
          pending: 0,
          applied: accepted.length - failedItems.length,
          batches: log.length,
          failed: failedItems.length,
          maxPendingSeen: expect.any(Number),
          waiting: 0,
        });
        expect(buffer.stats().maxPendingSeen).toBeLessThanOrEqual(config.maxPending);
        // Every failure goes to onError; at least one reaches a flush/stop, and
        // nothing is rejected that did not fail.
        expect(reported).toEqual(thrown);
        expect(rejections.length > 0).toBe(thrown.length > 0);
        for (const r of rejections) expect(thrown).toContain(r);
        expect(buffer.state).toBe('stopped');
      }),
      { seed, numRuns: 300 },
    );
  });
});
