/**
 * Property tests of the table's internal structures against plain arrays:
 * the sorted chunk index, the insertion-order index and the expiry heap.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpiryHeap } from '../src/expiry-heap.js';
import { flatEqual, flatHash } from '../src/flat-key.js';
import { SeqIndex, SortedIndex, seqOf } from '../src/sorted-index.js';
import { compareTerms, type Term, termsEqual } from '../src/terms.js';

const SEED = 424_242;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

describe('SortedIndex (property)', () => {
  it('agrees with a sorted array under random inserts, removes and steps', () => {
    const keyArb = fc.oneof(
      fc.integer({ min: -50, max: 2000 }),
      fc.constantFrom<Term>('a', 'b', 'z', ['k', 1], null),
    );
    const opArb = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant('insert' as const), key: keyArb }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('remove' as const), key: keyArb }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('after' as const), key: keyArb }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('before' as const), key: keyArb }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('walk' as const), key: keyArb }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 1500 }), (ops) => {
        const idx = new SortedIndex<{ k: Term }>();
        const ref: Term[] = [];
        const pos = (k: Term) => ref.findIndex((x) => compareTerms(x, k) >= 0);
        for (const o of ops) {
          if (o.op === 'insert') {
            const i = pos(o.key);
            if (i >= 0 && compareTerms(ref[i] as Term, o.key) === 0) continue;
            idx.insert(o.key, { k: o.key });
            if (i < 0) ref.push(o.key);
            else ref.splice(i, 0, o.key);
          } else if (o.op === 'remove') {
            const got = idx.remove(o.key);
            const i = ref.findIndex((x) => compareTerms(x, o.key) === 0);
            expect(got === undefined).toBe(i < 0);
            if (i >= 0) ref.splice(i, 1);
          } else if (o.op === 'after') {
            const want = ref.find((x) => compareTerms(x, o.key) > 0);
            expect(idx.after(o.key)?.k).toEqual(want);
            expect(idx.keyAfter(o.key)).toEqual(want);
          } else if (o.op === 'before') {
            const want = [...ref].reverse().find((x) => compareTerms(x, o.key) < 0);
            expect(idx.before(o.key)?.k).toEqual(want);
            expect(idx.keyBefore(o.key)).toEqual(want);
          } else {
            const walked: Term[] = [];
            for (let v = idx.first(); v !== undefined; v = idx.after(v.k)) walked.push(v.k);
            expect(walked).toEqual(ref);
            const back: Term[] = [];
            for (let v = idx.last(); v !== undefined; v = idx.before(v.k)) back.push(v.k);
            expect(back).toEqual([...ref].reverse());
          }
          expect(idx.size).toBe(ref.length);
        }
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

describe('SeqIndex (property)', () => {
  it('walks live values in insertion order from any position, through compactions', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 4000 }), fc.integer(), (kills, pick) => {
        const vals = kills.map((_, i) => ({ seq: i }));
        const idx = new SeqIndex(vals.slice(0, 10));
        for (const v of vals.slice(10)) idx.add(v);
        kills.forEach((k, i) => {
          if (k) {
            const v = vals[i] as { seq: number };
            v.seq = -v.seq - 1;
            idx.killed();
          }
        });
        const live = vals.filter((v) => v.seq >= 0);
        const walked: number[] = [];
        for (let v = idx.first(); v !== undefined; v = idx.after(v)) walked.push(v.seq);
        expect(walked).toEqual(live.map((v) => v.seq));
        // From an arbitrary (maybe removed) position.
        const from = vals[Math.abs(pick) % vals.length] as { seq: number };
        expect(idx.after(from)).toBe(live.find((v) => v.seq > seqOf(from)));
        expect(idx.before(from)).toBe([...live].reverse().find((v) => v.seq < seqOf(from)));
        expect(idx.afterSeq(seqOf(from))).toBe(live.find((v) => v.seq > seqOf(from)));
      }),
      { seed: SEED + 1, numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

describe('ExpiryHeap (property)', () => {
  it('keeps the minimum on top and finds every item due', () => {
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('set' as const), id: fc.nat(30), t: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ op: fc.constant('remove' as const), id: fc.nat(30) }),
      fc.record({ op: fc.constant('pop' as const) }),
      fc.record({ op: fc.constant('due' as const), t: fc.integer({ min: 0, max: 100 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const heap = new ExpiryHeap<{ hi: number; id: number }>();
        const items = Array.from({ length: 31 }, (_, id) => ({ hi: -1, id }));
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            heap.set(items[o.id] as { hi: number; id: number }, o.t);
            ref.set(o.id, o.t);
          } else if (o.op === 'remove') {
            heap.remove(items[o.id] as { hi: number; id: number });
            ref.delete(o.id);
          } else if (o.op === 'pop') {
            const min = heap.min();
            if (min === undefined) expect(ref.size).toBe(0);
            else {
              expect(heap.time(min)).toBe(Math.min(...ref.values()));
              heap.remove(min);
              ref.delete(min.id);
            }
          } else {
            const due: number[] = [];
            heap.forEachAtMost(o.t, (it) => due.push(it.id));
            const want = [...ref].filter(([, t]) => t <= o.t).map(([id]) => id);
            expect(due.sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
            expect(heap.countAtMost(o.t)).toBe(want.length);
          }
          expect(heap.size).toBe(ref.size);
          expect(heap.minTime()).toBe(ref.size === 0 ? Number.POSITIVE_INFINITY : Math.min(...ref.values()));
          for (const it of items) expect(it.hi === -1).toBe(!ref.has(it.id));
        }
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });
});

describe('flat keys (property)', () => {
  it('hashes equal flat tuples alike and compares them as terms do', () => {
    const prim = fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.constantFrom(0, -0, 1, 1.5, -1, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY, true, false, null),
      fc.integer(),
      fc.double(),
    );
    const tupleArb = fc.array(prim, { maxLength: 4 });
    fc.assert(
      fc.property(tupleArb, tupleArb, (a, b) => {
        expect(flatEqual(a, b)).toBe(termsEqual(a, b));
        if (termsEqual(a, b)) expect(flatHash(a)).toBe(flatHash(b));
        expect(flatEqual(a, [...a])).toBe(true);
        expect(flatHash(a)).toBe(flatHash([...a].map((x) => (Object.is(x, -0) ? 0 : x))));
      }),
      { seed: SEED + 3, numRuns: RUNS * 3 },
    );
    expect(flatHash([1n])).toBeUndefined();
    expect(flatHash([['nested']])).toBeUndefined();
  });
});
