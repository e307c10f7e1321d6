import { SuperCacheError } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  DEFAULT_MAX_DRIFT_MS,
  formatHlc,
  HybridLogicalClock,
  lww,
  MAX_DRIFT_LIMIT_MS,
  maxVersion,
  parseHlc,
} from '../src/index.js';

/** A wall clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): { now(): number; set(t: number): void } {
  let t = start;
  return {
    now: () => t,
    set: (v: number) => {
      t = v;
    },
  };
}

const FC_SEED = Number(process.env.FC_SEED ?? 20_261_121);
const fcOptions = { seed: FC_SEED, numRuns: 200 };

describe('HybridLogicalClock', () => {
  it('formats a fixed-width timestamp: 12 hex wall ms, 6 hex counter, node id', () => {
    const clock = manualClock(0x0192ab34cd56);
    const hlc = new HybridLogicalClock({ nodeId: 'nodeA', clock });
    expect(hlc.now()).toBe('0192ab34cd56-000000-nodeA');
    expect(hlc.now()).toBe('0192ab34cd56-000001-nodeA');
    clock.set(0x0192ab34cd57);
    expect(hlc.now()).toBe('0192ab34cd57-000000-nodeA');
  });

  it('round-trips parts through formatHlc and parseHlc, including node ids with dashes', () => {
    const parts = { wall: 123_456_789, counter: 42, node: 'node-a-1' };
    expect(parseHlc(formatHlc(parts))).toEqual(parts);
  });

  it('never runs backwards when the wall clock does', () => {
    const clock = manualClock(10_000);
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock });
    const t1 = hlc.now();
    clock.set(5_000);
    const t2 = hlc.now();
    const t3 = hlc.now();
    expect(t1 < t2).toBe(true);
    expect(t2 < t3).toBe(true);
    expect(parseHlc(t3).wall).toBe(10_000);
  });

  it('moves past a received timestamp even when the sender runs ahead', () => {
    const a = new HybridLogicalClock({ nodeId: 'a', clock: manualClock(50_000) });
    const b = new HybridLogicalClock({ nodeId: 'b', clock: manualClock(1_000) });
    const ta = a.now();
    const tb = b.update(ta);
    expect(compareVersions(tb, ta)).toBe(1);
    expect(b.now() > tb).toBe(true);
  });

  it('carries a counter overflow into the next millisecond', () => {
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock: manualClock(7) });
    hlc.update(formatHlc({ wall: 7, counter: 2 ** 24 - 1, node: 'b' }));
    const next = parseHlc(hlc.peek() as string);
    expect(next).toEqual({ wall: 8, counter: 0, node: 'a' });
  });

  it('refuses a remote timestamp beyond maxDriftMs and stays unchanged', () => {
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock: manualClock(1_000), maxDriftMs: 100 });
    const before = hlc.now();
    let err: unknown;
    try {
      hlc.update(formatHlc({ wall: 5_000, counter: 0, node: 'b' }));
    } catch (e) {
      err = e;
    }
    expect(SuperCacheError.is(err) && err.code).toBe('SC_ERR_CLOCK_SKEW');
    expect(hlc.peek()).toBe(before);
  });

  it('refuses, by default, a remote timestamp more than a minute ahead, and keeps issuing', () => {
    const clock = manualClock(1_700_000_000_000);
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock });
    expect(hlc.maxDriftMs).toBe(DEFAULT_MAX_DRIFT_MS);
    const before = hlc.now();
    const ahead = formatHlc({ wall: 1_700_000_000_000 + DEFAULT_MAX_DRIFT_MS + 1, counter: 0, node: 'b' });
    expect(() => hlc.update(ahead)).toThrowError(expect.objectContaining({ code: 'SC_ERR_CLOCK_SKEW' }));
    expect(() => hlc.check(ahead)).toThrowError(expect.objectContaining({ code: 'SC_ERR_CLOCK_SKEW' }));
    // The poisoned read of issue 8: the largest wall with the counter near its end.
    expect(() => hlc.update('ffffffffffff-fffffe-evil')).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_CLOCK_SKEW' }),
    );
    expect(hlc.peek()).toBe(before);
    const next = hlc.now();
    expect(next > before).toBe(true);
    expect(parseHlc(next).wall).toBe(1_700_000_000_000);
    // Exactly at the bound is accepted and merged.
    const edge = formatHlc({ wall: 1_700_000_000_000 + DEFAULT_MAX_DRIFT_MS, counter: 5, node: 'b' });
    expect(hlc.check(edge).wall).toBe(1_700_000_000_000 + DEFAULT_MAX_DRIFT_MS);
    expect(compareVersions(hlc.update(edge), edge)).toBe(1);
  });

  it('check() validates without moving the clock', () => {
    const hlc = new HybridLogicalClock({ nodeId: 'a', clock: manualClock(5_000) });
    const t = hlc.now();
    expect(hlc.check(formatHlc({ wall: 9_000, counter: 3, node: 'b' }))).toEqual({
      wall: 9_000,
      counter: 3,
      node: 'b',
    });
    expect(hlc.peek()).toBe(t);
    expect(() => hlc.check('garbage')).toThrowError(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
  });

  it('refuses a maxDriftMs that is not an integer from 1 to 2^40 (there is no "off")', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_DRIFT_LIMIT_MS + 1]) {
      expect(() => new HybridLogicalClock({ nodeId: 'a', maxDriftMs: bad })).toThrowError(
        expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
      );
    }
    expect(new HybridLogicalClock({ nodeId: 'a', maxDriftMs: MAX_DRIFT_LIMIT_MS }).maxDriftMs).toBe(
      MAX_DRIFT_LIMIT_MS,
    );
  });

  it('never reaches exhaustion through remote input (property)', () => {
    const remote = fc.record({
      wall: fc.oneof(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.constant(2 ** 48 - 1)),
      counter: fc.oneof(fc.integer({ min: 0, max: 2 ** 24 - 1 }), fc.constant(2 ** 24 - 1)),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX_DRIFT_LIMIT_MS }),
        fc.array(remote, { minLength: 1, maxLength: 100 }),
        (drift, inputs) => {
          const clock = manualClock(1_800_000_000_000);
          const hlc = new HybridLogicalClock({ nodeId: 'local', clock, maxDriftMs: drift });
          let last = hlc.now();
          for (const r of inputs) {
            try {
              last = hlc.update(formatHlc({ ...r, node: 'remote' }));
            } catch (e) {
              if (!SuperCacheError.is(e) || e.code !== 'SC_ERR_CLOCK_SKEW') return false;
            }
            const t = hlc.now();
            if (!(t > last) || parseHlc(t).wall > 1_800_000_000_000 + drift + 1) return false;
            last = t;
          }
          return true;
        },
      ),
      fcOptions,
    );
  });

  it('rejects malformed timestamps and options with SC_ERR_BAD_ARG', () => {
    for (const bad of ['', 'x', '0192ab34cd56-00001-a', '0192ab34cd5G-000001-a', '0192ab34cd56-000001-']) {
      expect(() => parseHlc(bad)).toThrowError(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
    }
    expect(() => new HybridLogicalClock({ nodeId: '' })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
  });

  it('parses exactly the strings a regular-expression model accepts; assertAcceptable agrees with check (property)', () => {
    // The reference model: 12 lowercase hex digits, '-', 6 lowercase hex digits, '-', a non-empty node id.
    const model = (s: string) => {
      const m = /^([0-9a-f]{12})-([0-9a-f]{6})-([\s\S]+)$/.exec(s);
      return m === null
        ? undefined
        : {
            wall: Number.parseInt(m[1] as string, 16),
            counter: Number.parseInt(m[2] as string, 16),
            node: m[3],
          };
    };
    const hex = fc.constantFrom(...'0123456789abcdefABCDEFg-x'.split(''));
    const almost = fc
      .tuple(
        fc.array(hex, { minLength: 10, maxLength: 13 }),
        fc.constantFrom('-', '_', ''),
        fc.array(hex, { minLength: 5, maxLength: 7 }),
        fc.constantFrom('-', '+'),
        fc.string({ maxLength: 4 }),
      )
      .map(([w, d1, c, d2, n]) => `${w.join('')}${d1}${c.join('')}${d2}${n}`);
    const hlc = new HybridLogicalClock({
      nodeId: 'a',
      clock: manualClock(2 ** 47),
      maxDriftMs: MAX_DRIFT_LIMIT_MS,
    });
    fc.assert(
      fc.property(fc.oneof(almost, fc.string()), (s) => {
        const want = model(s);
        let got: unknown;
        try {
          got = parseHlc(s);
        } catch (e) {
          got = SuperCacheError.is(e) ? e.code : e;
        }
        if (want === undefined) expect(got).toBe('SC_ERR_BAD_ARG');
        else expect(got).toEqual(want);
        let checked: unknown;
        let asserted: unknown;
        try {
          checked = hlc.check(s) !== undefined;
        } catch (e) {
          checked = SuperCacheError.is(e) ? e.code : e;
        }
        try {
          hlc.assertAcceptable(s);
          asserted = true;
        } catch (e) {
          asserted = SuperCacheError.is(e) ? e.code : e;
        }
        expect(asserted).toBe(checked);
      }),
      fcOptions,
    );
    const ahead = formatHlc({ wall: 2 ** 47 + MAX_DRIFT_LIMIT_MS + 1, counter: 0, node: 'b' });
    expect(() => hlc.assertAcceptable(ahead)).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_CLOCK_SKEW' }),
    );
  });

  it('is strictly monotonic under any wall-clock sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 200 }),
        (walls) => {
          const clock = manualClock(0);
          const hlc = new HybridLogicalClock({ nodeId: 'n', clock });
          let last = '';
          for (const w of walls) {
            clock.set(w);
            const t = hlc.now();
            if (!(t > last)) return false;
            last = t;
          }
          return true;
        },
      ),
      fcOptions,
    );
  });

  it('bumps past every received timestamp and everything it issued (property)', () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), wall: fc.integer({ min: 0, max: 2 ** 40 }) }),
      fc.record({
        kind: fc.constant('recv' as const),
        wall: fc.integer({ min: 0, max: 2 ** 40 }),
        remoteWall: fc.integer({ min: 0, max: 2 ** 40 }),
        remoteCounter: fc.integer({ min: 0, max: 2 ** 24 - 2 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 100 }), (events) => {
        const clock = manualClock(0);
        const hlc = new HybridLogicalClock({ nodeId: 'local', clock, maxDriftMs: MAX_DRIFT_LIMIT_MS });
        let last = '';
        for (const e of events) {
          clock.set(e.wall);
          if (e.kind === 'tick') {
            const t = hlc.now();
            if (!(t > last)) return false;
            last = t;
          } else {
            const remote = formatHlc({ wall: e.remoteWall, counter: e.remoteCounter, node: 'remote' });
            const t = hlc.update(remote);
            if (!(t > last) || compareVersions(t, remote) <= 0) return false;
            last = t;
          }
        }
        return true;
      }),
      fcOptions,
    );
  });

  it('sorts by string comparison exactly as by (wall, counter, node) (property)', () => {
    const parts = fc.record({
      wall: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      counter: fc.integer({ min: 0, max: 2 ** 24 - 1 }),
      node: fc.stringMatching(/^[a-z0-9]{1,8}$/),
    });
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const byParts =
          a.wall !== b.wall
            ? Math.sign(a.wall - b.wall)
            : a.counter !== b.counter
              ? Math.sign(a.counter - b.counter)
              : a.node < b.node
                ? -1
                : a.node > b.node
                  ? 1
                  : 0;
        return compareVersions(formatHlc(a), formatHlc(b)) === byParts;
      }),
      fcOptions,
    );
  });
});

describe('last-writer-wins', () => {
  const older = '0192ab34cd56-000000-a';
  const newer = '0192ab34cd56-000001-a';

  it('orders undefined and null before every version', () => {
    expect(compareVersions(undefined, older)).toBe(-1);
    expect(compareVersions(null, older)).toBe(-1);
    expect(compareVersions(older, undefined)).toBe(1);
    expect(compareVersions(undefined, null)).toBe(0);
    expect(compareVersions(older, newer)).toBe(-1);
    expect(compareVersions(newer, newer)).toBe(0);
  });

  it('keeps the object with the larger version, either way round', () => {
    const a = { v: 'a', version: older };
    const b = { v: 'b', version: newer };
    expect(lww(a, b)).toBe(b);
    expect(lww(b, a)).toBe(b);
  });

  it('keeps the local copy on equal versions and any version over none', () => {
    const a = { v: 'a', version: older };
    const b = { v: 'b', version: older };
    expect(lww(a, b)).toBe(a);
    expect(lww<{ v: string; version?: string }>({ v: 'x' }, a)).toBe(a);
    expect(lww(a, undefined)).toBe(a);
    expect(lww(undefined, a)).toBe(a);
    expect(maxVersion(older, newer)).toBe(newer);
    expect(maxVersion(undefined, older)).toBe(older);
  });

  it('is commutative on versions, associative and idempotent (property)', () => {
    const v = fc.option(
      fc.record({ wall: fc.integer({ min: 0, max: 2 ** 40 }), counter: fc.integer({ min: 0, max: 100 }) }),
      { nil: undefined },
    );
    const obj = fc.tuple(v, fc.constantFrom('a', 'b', 'c')).map(([p, node]) => ({
      version: p === undefined ? undefined : formatHlc({ ...p, node }),
    }));
    fc.assert(
      fc.property(obj, obj, obj, (a, b, c) => {
        const ver = (x: { version: string | undefined } | undefined) => x?.version;
        return (
          ver(lww(a, b)) === ver(lww(b, a)) &&
          ver(lww(lww(a, b), c)) === ver(lww(a, lww(b, c))) &&
          lww(a, a) === a
        );
      }),
      fcOptions,
    );
  });
});
