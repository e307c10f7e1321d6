/**
 * Write coalescing for SuperCache's `lazyPut`.
 *
 * A {@link WriteBuffer} queues items and hands them to an `apply` callback in
 * batches, in exactly the order they were pushed, so the newest write to a key
 * wins. It is bounded (`maxPending`, with backpressure on `push`), reports
 * every failed batch (to `onError` and to the next `flush()` / `stop()`), and
 * has an idempotent `start()` / `stop()` lifecycle.
 *
 * This package stands alone: it depends on no other package, not even the
 * other `@supercache/*` ones. Its {@link BufferError} carries the shared
 * `Symbol.for('supercache.error')` brand, so `SuperCacheError.is()` elsewhere
 * recognises it.
 *
 * @packageDocumentation
 */
export type { BufferErrorCode, BufferErrorOptions } from './errors.js';
export { BufferError } from './errors.js';
export type {
  BufferState,
  FlushOn,
  FlushOptions,
  PushOptions,
  WriteBufferOptions,
  WriteBufferStats,
} from './write-buffer.js';
export { WriteBuffer } from './write-buffer.js';
