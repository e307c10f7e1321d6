import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkHistory, checkRegister, type RegisterOp } from './linearizability.js';

const w = (value: number, invoke: number, complete: number | undefined): RegisterOp => ({
  kind: 'write',
  value,
  invoke,
  complete,
});
const r = (value: number | null, invoke: number, complete: number): RegisterOp => ({
  kind: 'read',
  value,
  invoke,
  complete,
});

describe('checkRegister', () => {
  it('accepts a sequential history and an empty one', () => {
    expect(checkRegister([]).ok).toBe(true);
    expect(checkRegister([r(null, 0, 1), w(1, 2, 3), r(1, 4, 5), w(2, 6, 7), r(2, 8, 9)]).ok).toBe(true);
  });

  it('rejects a read of an older value after a newer write was acknowledged (a stale read)', () => {
    const v = checkRegister([w(1, 0, 1), w(2, 2, 3), r(1, 4, 5)]);
    expect(v).toMatchObject({ ok: false, reason: 'not linearizable' });
  });

  it('rejects a miss after an acknowledged write, and a value never written', () => {
    expect(checkRegister([w(1, 0, 1), r(null, 2, 3)]).ok).toBe(false);
    expect(checkRegister([w(1, 0, 1), r(7, 2, 3)]).ok).toBe(false);
  });

  it('lets a read concurrent with a write return either value', () => {
    expect(checkRegister([w(1, 0, 1), w(2, 2, 10), r(1, 3, 4)]).ok).toBe(true);
    expect(checkRegister([w(1, 0, 1), w(2, 2, 10), r(2, 3, 4)]).ok).toBe(true);
  });

  it('rejects two concurrent reads that see the values in opposite orders once one read saw the new one first', () => {
    // r(2) ends before r(1) begins: after the register showed 2 it cannot show 1 again.
    const v = checkRegister([w(1, 0, 1), w(2, 2, 20), r(2, 3, 4), r(1, 5, 6)]);
    expect(v.ok).toBe(false);
  });

  it('accepts an unknown-outcome write that applied, and one that never did', () => {
    expect(checkRegister([w(1, 0, 1), w(2, 2, undefined), r(2, 10, 11), r(2, 12, 13)]).ok).toBe(true);
    expect(checkRegister([w(1, 0, 1), w(2, 2, undefined), r(1, 10, 11), r(1, 12, 13)]).ok).toBe(true);
  });

  it('rejects an unknown-outcome write that flickers (seen, then gone)', () => {
    expect(checkRegister([w(1, 0, 1), w(2, 2, undefined), r(2, 10, 11), r(1, 12, 13)]).ok).toBe(false);
  });

  it('rejects a lost acknowledged write that an unknown-outcome write cannot explain', () => {
    // An unknown write of 2, invoked first, may take effect after 3 was acknowledged: reading 2 is allowed.
    expect(checkRegister([w(2, 0, undefined), w(3, 5, 6), r(2, 7, 8)]).ok).toBe(true);
    // Here the unknown write of 2 was invoked after the read began: it cannot explain the read.
    expect(checkRegister([w(1, 0, 1), w(3, 2, 3), r(2, 4, 5), w(2, 6, undefined)]).ok).toBe(false);
  });

  it('gives up (and fails) when the search budget is exceeded', () => {
    const ops = Array.from({ length: 12 }, (_x, i) => w(i + 1, 0, 100));
    ops.push(r(99, 101, 102));
    expect(checkRegister(ops, 50)).toMatchObject({ ok: false, reason: 'search budget exceeded' });
  });

  it('accepts every history produced by a real register with random overlaps (seed 7)', () => {
    // A register applied at a random instant inside each operation's interval is linearizable by construction.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            read: fc.boolean(),
            start: fc.integer({ min: 0, max: 1000 }),
            len: fc.integer({ min: 1, max: 200 }),
            at: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { maxLength: 14 },
        ),
        (specs) => {
          const timed = specs.map((s, i) => ({ ...s, i, point: s.start + s.at * s.len }));
          timed.sort((x, y) => x.point - y.point);
          let value: number | null = null;
          const ops: RegisterOp[] = [];
          for (const t of timed) {
            if (t.read) ops.push(r(value, t.start, t.start + t.len));
            else {
              value = t.i + 1;
              ops.push(w(value, t.start, t.start + t.len));
            }
          }
          expect(checkRegister(ops).ok).toBe(true);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('checkHistory', () => {
  it('names the keys that are not linearizable', () => {
    const v = checkHistory(
      new Map([
        ['good', [w(1, 0, 1), r(1, 2, 3)]],
        ['bad', [w(1, 0, 1), w(2, 2, 3), r(1, 4, 5)]],
      ]),
    );
    expect(v.ok).toBe(false);
    expect(v.keys).toBe(2);
    expect(v.ops).toBe(5);
    expect(v.failures.map((f) => f.key)).toEqual(['bad']);
  });
});
