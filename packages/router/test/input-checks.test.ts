import { _, $ } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { copyData, ShardSet } from '../src/index.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('ShardSet input checks', () => {
  it('refuses a cursor of an unknown kind or with a bad pattern at the open, allocating nothing', () => {
    const set = new ShardSet({ shards: 2, sweepIntervalMs: 0 });
    set.runShard(0, 'insert', [[['a', 1]]]);
    expect(() => set.openCursor('nope' as never, null)).toThrow(code('SC_ERR_BAD_ARG'));
    expect(() => set.openCursor('select', 'not a spec')).toThrow(code('SC_ERR_BAD_MATCH_SPEC'));
    expect(set.openCursors).toBe(0);
    const id = set.openCursor('match', [$(1), _]);
    expect(set.cursorNext(id, 10)).toEqual({ items: [['a', ['a']]], done: true });
  });

  it('caps open cursors with SC_ERR_LIMIT, and frees a slot when one closes', () => {
    const set = new ShardSet({ shards: 1, sweepIntervalMs: 0, maxCursors: 2 });
    const a = set.openCursor('objects', null);
    set.openCursor('objects', null);
    expect(() => set.openCursor('objects', null)).toThrow(code('SC_ERR_LIMIT'));
    set.closeCursor(a);
    expect(() => set.openCursor('objects', null)).not.toThrow();
    expect(() => new ShardSet({ shards: 1, maxCursors: 0 })).toThrow(code('SC_ERR_BAD_ARG'));
  });

  it('refuses a ttl that is not a number, and writes nothing', () => {
    const set = new ShardSet({ shards: 1, sweepIntervalMs: 0 });
    for (const ttl of ['soon', {}, true]) {
      expect(() => set.runShard(0, 'insert', [[['k', 1]], ttl])).toThrow(code('SC_ERR_BAD_ARG'));
    }
    expect(set.runShard(0, 'lookup', ['k'])).toEqual([]);
    set.runShard(0, 'insert', [[['k', 1]], null]);
    expect(set.runShard(0, 'lookup', ['k'])).toEqual([['k', 1]]);
  });
});

describe('copyData', () => {
  it('keeps a __proto__ key an own key of the copy', () => {
    const src = JSON.parse('[{"__proto__":{"polluted":1},"constructor":2}]') as unknown[];
    const out = copyData(src) as Array<Record<string, unknown>>;
    expect(out[0]).not.toBe(src[0]);
    expect(Object.getPrototypeOf(out[0])).toBe(Object.prototype);
    expect(Object.keys(out[0] as object)).toEqual(['__proto__', 'constructor']);
    expect((out[0] as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe(JSON.stringify(src));
  });
});
