/**
 * Terms survive every codec exactly, object keys named like the prototype
 * machinery (`__proto__`, `constructor`, `prototype`) included, and route to
 * the same partition after the trip as before it (issue 8, §4).
 */

import { decode, encode } from '@supercache/cluster';
import { partitionOf } from '@supercache/partition';
import { canonicalString, compareTerms, decodePattern, encodeMarkers, type Term } from '@supercache/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { termFromJson, termToJson } from '../src/json-terms.js';

const FC_SEED = Number(process.env.FC_SEED ?? 20_261_208);
const fcOptions = { seed: FC_SEED, numRuns: 400 };

const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__proto_'];

/** An object built with own keys only, whatever their names. */
function own(entries: ReadonlyArray<readonly [string, Term]>): Record<string, Term> {
  const out: Record<string, Term> = {};
  for (const [k, v] of entries) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const term: fc.Arbitrary<Term> = fc.letrec<{ term: Term }>((tie) => ({
  term: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.bigInt(),
    fc.string({ maxLength: 6 }),
    fc.uint8Array({ maxLength: 6 }),
    fc.array(tie('term'), { maxLength: 4 }),
    fc
      .uniqueArray(
        fc.tuple(fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 4 })), tie('term')),
        {
          maxLength: 4,
          selector: ([k]) => k,
        },
      )
      .map(own),
  ),
})).term;

function viaMsgpack(t: Term): Term {
  return decode(encode(t)) as Term;
}

function viaJson(t: Term): Term {
  return termFromJson(JSON.parse(JSON.stringify(termToJson(t))));
}

/** Every own key is a data property, and no object gained a prototype other than Object's. */
function plainEverywhere(t: unknown): boolean {
  if (Array.isArray(t)) return t.every(plainEverywhere);
  if (t === null || typeof t !== 'object' || t instanceof Uint8Array) return true;
  if (Object.getPrototypeOf(t) !== Object.prototype) return false;
  return Object.keys(t).every((k) => plainEverywhere((t as Record<string, unknown>)[k]));
}

describe('terms on the wire', () => {
  it(`round-trip the MessagePack codec and JSON terms exactly, with the same partition (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(term, (t) => {
        const canonical = canonicalString(t);
        for (const back of [viaMsgpack(t), viaJson(t), viaMsgpack(viaJson(t)), viaJson(viaMsgpack(t))]) {
          expect(compareTerms(back, t)).toBe(0);
          expect(canonicalString(back)).toBe(canonical);
          expect(plainEverywhere(back)).toBe(true);
          expect(partitionOf(back, 64)).toBe(partitionOf(t, 64));
        }
      }),
      fcOptions,
    );
  });

  it('keeps {"__proto__":"x","a":1} as it is through MessagePack (it used to come back as "__proto_")', () => {
    const t = JSON.parse('{"__proto__":"x","a":1}') as Term;
    const back = viaMsgpack(t) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    // A value that is an object must not become the prototype either.
    const nested = viaMsgpack(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect((nested as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(nested)).toEqual(['__proto__']);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('carries match patterns whose objects have such keys through both codecs', () => {
    fc.assert(
      fc.property(term, (t) => {
        const pattern = decodePattern(encodeMarkers([t, '_'] as never));
        const wire = decodePattern(viaMsgpack(encodeMarkers(pattern)));
        expect(compareTerms(encodeMarkers(wire), encodeMarkers(pattern))).toBe(0);
      }),
      { ...fcOptions, numRuns: 100 },
    );
  });
});
