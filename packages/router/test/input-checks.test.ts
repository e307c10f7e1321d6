import { _, $ } from '@supercache/storage';
import fc from 'fast-check';
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
  it('returns an equal value that shares no array, object or byte array with its input (property)', () => {
    const containers = (v: unknown, out: object[] = []): object[] => {
      if (typeof v === 'object' && v !== null) {
        out.push(v);
        if (Array.isArray(v)) for (const x of v) containers(x, out);
        else if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) containers(x, out);
      }
      return out;
    };
    const term = fc.letrec((tie) => ({
      t: fc.oneof(
        { depthSize: 'small' },
        fc.oneof(
          fc.string(),
          fc.double({ noNaN: true }),
          fc.boolean(),
          fc.constant(null),
          fc.uint8Array({ maxLength: 3 }),
        ),
        fc.array(tie('t'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 3 }), tie('t'), { maxKeys: 3 }),
      ),
    })).t;
    fc.assert(
      fc.property(term, (v) => {
        const out = copyData(v);
        expect(out).toEqual(v);
        const before = new Set(containers(v));
        for (const c of containers(out)) expect(before.has(c)).toBe(false);
        for (const c of containers(out))
          if (Array.isArray(c)) expect(Object.getPrototypeOf(c)).toBe(Array.prototype);
      }),
      { seed: 99, numRuns: 300 },
    );
    class Tagged extends Array<unknown> {}
    const sub = Tagged.from([1, [2]]);
    const copied = copyData(sub) as unknown[];
    expect(Object.getPrototypeOf(copied)).toBe(Array.prototype);
    expect(copied).toEqual([1, [2]]);
  });

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
