import { BufferError, type BufferErrorCode } from '../src/index.js';

/** Resolves after the pending `setImmediate` callbacks (one event-loop turn). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a {@link Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Calls `fn` and returns the BufferError it throws; fails if it throws nothing or something else. */
export function catchBufferError(fn: () => unknown, code: BufferErrorCode): BufferError {
  try {
    fn();
  } catch (error) {
    if (BufferError.is(error) && error.code === code) return error;
    throw new Error(`expected BufferError ${code}, got ${String(error)}`);
  }
  throw new Error(`expected BufferError ${code}, nothing was thrown`);
}

/** Observes a promise's outcome without letting a rejection go unhandled. */
export function settleState(promise: Promise<unknown>): {
  readonly state: () => 'pending' | 'fulfilled' | 'rejected';
} {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      state = 'fulfilled';
    },
    () => {
      state = 'rejected';
    },
  );
  return { state: () => state };
}
