import { describe, expect, it } from 'vitest';
import { BufferError } from '../src/index.js';

describe('BufferError', () => {
  it('carries a stable code, a retryable flag, a cause and details', () => {
    const cause = new Error('root');
    const error = new BufferError('SC_ERR_BUFFER_FULL', 'full', {
      cause,
      retryable: true,
      details: { maxPending: 4 },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('BufferError');
    expect(error.code).toBe('SC_ERR_BUFFER_FULL');
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ maxPending: 4 });
  });

  it('is not retryable and has no cause unless told', () => {
    const error = new BufferError('SC_ERR_BUFFER_STOPPED', 'stopped');
    expect(error.retryable).toBe(false);
    expect('cause' in error).toBe(false);
    expect(error.details).toBeUndefined();
  });

  it('carries the shared supercache brand that SuperCacheError.is() checks', () => {
    const error = new BufferError('SC_ERR_BAD_ARG', 'bad');
    expect((error as unknown as Record<symbol, unknown>)[Symbol.for('supercache.error')]).toBe(true);
    // The brand is not enumerable, so it does not leak into logs or JSON.
    expect(Object.prototype.propertyIsEnumerable.call(error, Symbol.for('supercache.error'))).toBe(false);
    expect(JSON.stringify(error)).not.toContain('supercache');
  });

  it('recognises its own errors, even from another copy of the package, and nothing else', () => {
    expect(BufferError.is(new BufferError('SC_ERR_ABORTED', 'aborted'))).toBe(true);
    const fromAnotherCopy = Object.assign(new Error('x'), { code: 'SC_ERR_BUFFER_STOPPED' });
    Object.defineProperty(fromAnotherCopy, Symbol.for('supercache.error'), { value: true });
    Object.defineProperty(fromAnotherCopy, Symbol.for('supercache.buffer.error'), { value: true });
    expect(BufferError.is(fromAnotherCopy)).toBe(true);

    const otherSuperCacheError = Object.assign(new Error('x'), { code: 'SC_ERR_NOT_FOUND' });
    Object.defineProperty(otherSuperCacheError, Symbol.for('supercache.error'), { value: true });
    expect(BufferError.is(otherSuperCacheError)).toBe(false);
    expect(BufferError.is(new Error('plain'))).toBe(false);
    expect(BufferError.is({ code: 'SC_ERR_BAD_ARG' })).toBe(false);
    expect(BufferError.is(null)).toBe(false);
    expect(BufferError.is('SC_ERR_BAD_ARG')).toBe(false);
  });

  it('serialises to the same JSON shape as the other packages', () => {
    expect(new BufferError('SC_ERR_BAD_ARG', 'bad', { details: { option: 'maxBatch' } }).toJSON()).toEqual({
      name: 'BufferError',
      code: 'SC_ERR_BAD_ARG',
      message: 'bad',
      retryable: false,
      details: { option: 'maxBatch' },
    });
    expect(new BufferError('SC_ERR_ABORTED', 'aborted').toJSON()).not.toHaveProperty('details');
  });
});
