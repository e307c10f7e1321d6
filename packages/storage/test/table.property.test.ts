/**
 * Property tests: random operation sequences run against a Table and against
 * a plain reference model (arrays, linear scans, no cleverness), compared
 * after every operation, for every table type. Seeded; on failure
 * fast-check prints the seed and the shrunk counterexample.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SuperCacheError } from '../src/errors.js';
import { _, $_, decodePattern, encodeMarkers, type MatchSpec } from '../src/match.js';
import { type Continuation, Table } from '../src/table.js';
import { compareTerms, type Term, type Tuple, termBytes, termsEqual } from '../src/terms.js';
import type { CounterOp, TableType } from '../src/types.js';
import { ManualClock } from './table-helpers.js';

const SEED = 20_240_611;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);
const TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

// Keys chosen to hit every key path: plain strings, the escape character,
// numbers with -0/NaN, 1 vs 1n, flat composite keys (hashed) and other
// composite keys (encoded).
const KEYS: readonly Term[] = [
  'a',
  'b',
  'c',
  '\uD800x',
  0,
  -0,
  1,
  1n,
  Number.NaN,
  null,
  true,
  ['u', 1],
  ['u', 2],
  ['u', -0],
  ['u', 1, 2],
  ['u'],
  [1n, 'x'],
  { x: 1 },
  new Uint8Array([1]),
];
const VALUES: readonly Term[] = [0, 1, 2, -0, 'x'];

interface ObjSpec {
  readonly key: Term;
  readonly vals: readonly Term[];
}

function build(s: ObjSpec, kp: number): Tuple {
  return kp === 0 ? [s.key, ...s.vals] : [s.vals[0] as Term, s.key, ...s.vals.slice(1)];
}

// Mostly a few keys, so that operations meet on the same keys often.
const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Term>('a', 'b', ['u', 1], 0) },
  { weight: 1, arbitrary: fc.constantFrom(...KEYS) },
);
const valArb = fc.constantFrom(...VALUES);
const objArb: fc.Arbitrary<ObjSpec> = fc.record({
  key: keyArb,
  vals: fc.array(valArb, { minLength: 1, maxLength: 2 }),
});
const ttlArb = fc.option(fc.constantFrom(0, 3, 10), { nil: undefined });
const posArb = fc.integer({ min: 0, max: 3 });
const counterOpArb: fc.Arbitrary<CounterOp> = fc.oneof(
  fc.constantFrom(1, -2, 3, 0),
  fc.tuple(posArb, fc.constantFrom(1, -2, 0)),
  fc.tuple(posArb, fc.constantFrom(1, -2, 0), fc.constantFrom(0, 2), fc.constantFrom(-1, 7)),
);

type Op =
  | { op: 'insert'; obj: ObjSpec; ttl: number | undefined }
  | { op: 'insertNew'; obj: ObjSpec; ttl: number | undefined }
  | { op: 'insertMany'; objs: ObjSpec[]; ttl: number | undefined }
  | { op: 'insertNewMany'; objs: ObjSpec[] }
  | { op: 'delete'; key: Term }
  | { op: 'deleteObject'; obj: ObjSpec }
  | { op: 'take'; key: Term }
  | { op: 'updateElement'; key: Term; pos: number; value: Term; def: ObjSpec | undefined }
  | { op: 'updateCounter'; key: Term; ops: CounterOp | CounterOp[]; def: ObjSpec | undefined }
  | { op: 'lookup'; key: Term }
  | { op: 'lookupElement'; key: Term; pos: number; def: Term | undefined }
  | { op: 'member'; key: Term }
  | { op: 'matchDelete'; value: Term }
  | { op: 'advance'; ms: number }
  | { op: 'sweep'; max: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('insert' as const), obj: objArb, ttl: ttlArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('insertNew' as const), obj: objArb, ttl: ttlArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('insertMany' as const),
      objs: fc.array(objArb, { maxLength: 3 }),
      ttl: ttlArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('insertNewMany' as const),
      objs: fc.array(objArb, { maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deleteObject' as const), obj: objArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('take' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('updateElement' as const),
      key: keyArb,
      pos: posArb,
      value: valArb,
      def: fc.option(objArb, { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('updateCounter' as const),
      key: keyArb,
      ops: fc.oneof(counterOpArb, fc.array(fc.tuple(posArb, fc.constantFrom(1, -2)), { maxLength: 3 })),
      def: fc.option(objArb, { nil: undefined }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('lookup' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('lookupElement' as const),
      key: keyArb,
      pos: posArb,
      def: fc.option(valArb, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('member' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('matchDelete' as const), value: valArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(1, 3, 10) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('sweep' as const), max: fc.constantFrom(1, 2, 1000) }),
  },
);

// ---------------------------------------------------------------------------
// Reference model: buckets in key-creation order, items with expiry times.

class ModelError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

interface MItem {
  obj: Tuple;
  exp: number;
}
interface MBucket {
  key: Term;
  items: MItem[];
}

class Model {
  buckets: MBucket[] = [];
  now = 1000;
  readonly bag: boolean;
  // The counters of Table.stats() the model keeps: every object that leaves
  // after it expired is an expiration, whatever removed it.
  hits = 0;
  misses = 0;
  expirations = 0;

  constructor(
    readonly type: TableType,
    readonly kp: number,
    readonly defTtl: number,
  ) {
    this.bag = type === 'bag' || type === 'duplicate_bag';
  }

  expOf(ttl: number | undefined): number {
    const t = ttl ?? this.defTtl;
    return t === 0 ? 0 : this.now + t;
  }
  live(it: MItem): boolean {
    return it.exp === 0 || it.exp > this.now;
  }
  find(key: Term): MBucket | undefined {
    return this.buckets.find((b) => termsEqual(b.key, key));
  }
  remove(b: MBucket): void {
    this.expirations += b.items.filter((i) => !this.live(i)).length;
    this.buckets.splice(this.buckets.indexOf(b), 1);
  }
  stats(): { hits: number; misses: number; expirations: number } {
    return { hits: this.hits, misses: this.misses, expirations: this.expirations };
  }
  // A counted read: a hit, a miss, or (a key whose objects all expired
  // before the sweep) a reclaimed key that counts as expirations instead.
  read(key: Term): Tuple[] {
    const objs = this.liveObjs(key);
    const b = this.find(key);
    if (objs.length > 0) this.hits++;
    else if (b !== undefined) this.remove(b);
    else this.misses++;
    return objs;
  }
  liveObjs(key: Term): Tuple[] {
    return (this.find(key)?.items ?? []).filter((i) => this.live(i)).map((i) => i.obj);
  }
  // A write first drops the key's expired objects (and the key if none is left).
  purge(key: Term): void {
    const b = this.find(key);
    if (b === undefined) return;
    this.expirations += b.items.filter((i) => !this.live(i)).length;
    b.items = b.items.filter((i) => this.live(i));
    if (b.items.length === 0) this.remove(b);
  }
  write(obj: Tuple, exp: number): void {
    const key = obj[this.kp] as Term;
    this.purge(key);
    let b = this.find(key);
    if (b === undefined) {
      b = { key, items: [] };
      this.buckets.push(b);
    }
    if (!this.bag) b.items = [{ obj, exp }];
    else {
      const j = this.type === 'bag' ? b.items.findIndex((i) => termsEqual(i.obj, obj)) : -1;
      if (j >= 0) b.items[j] = { obj, exp };
      else b.items.push({ obj, exp });
    }
  }
  ordered(): MBucket[] {
    if (this.type !== 'ordered_set') return this.buckets;
    return [...this.buckets].sort((x, y) => compareTerms(x.key, y.key));
  }
  tab2list(): Tuple[] {
    return this.ordered().flatMap((b) => b.items.filter((i) => this.live(i)).map((i) => i.obj));
  }
  keys(): Term[] {
    return this.ordered()
      .filter((b) => b.items.some((i) => this.live(i)))
      .map((b) => b.key);
  }
  size(): number {
    return this.tab2list().length;
  }

  apply(op: Op): unknown {
    const kp = this.kp;
    switch (op.op) {
      case 'insert':
        this.write(build(op.obj, kp), this.expOf(op.ttl));
        return true;
      case 'insertNew': {
        const obj = build(op.obj, kp);
        if (this.liveObjs(obj[kp] as Term).length > 0) return false;
        this.write(obj, this.expOf(op.ttl));
        return true;
      }
      case 'insertMany': {
        const exp = this.expOf(op.ttl);
        for (const s of op.objs) this.write(build(s, kp), exp);
        return true;
      }
      case 'insertNewMany': {
        const objs = op.objs.map((s) => build(s, kp));
        const keys = objs.map((o) => o[kp] as Term);
        if (!this.bag && keys.some((k, i) => keys.findIndex((x) => termsEqual(x, k)) !== i)) return false;
        if (keys.some((k) => this.liveObjs(k).length > 0)) return false;
        for (const o of objs) this.write(o, this.expOf(undefined));
        return true;
      }
      case 'delete': {
        const b = this.find(op.key);
        if (b !== undefined) this.remove(b);
        return true;
      }
      case 'take': {
        const objs = this.liveObjs(op.key);
        const b = this.find(op.key);
        if (b !== undefined) this.remove(b);
        return objs;
      }
      case 'deleteObject': {
        const obj = build(op.obj, kp);
        const b = this.find(obj[kp] as Term);
        if (b === undefined) return true;
        if (!this.bag) {
          if (termsEqual((b.items[0] as MItem).obj, obj)) this.remove(b);
        } else {
          // Only live objects are compared; expired ones wait for the sweep.
          b.items = b.items.filter((i) => !(this.live(i) && termsEqual(i.obj, obj)));
          if (b.items.length === 0) this.remove(b);
        }
        return true;
      }
      case 'updateElement': {
        if (this.bag) throw new ModelError('SC_ERR_WRONG_TABLE_TYPE');
        if (op.pos === kp) throw new ModelError('SC_ERR_KEY_UPDATE');
        const b = this.find(op.key);
        const it = b?.items[0];
        const live = it !== undefined && this.live(it);
        if (!live && op.def === undefined) return false;
        const base = live ? it.obj : [...build(op.def as ObjSpec, kp)];
        if (!live) (base as Term[])[kp] = op.key;
        if (op.pos >= base.length) throw new ModelError('SC_ERR_TUPLE_TOO_SHORT');
        const next = [...base];
        next[op.pos] = op.value;
        if (live) it.obj = next;
        else this.write(next, this.expOf(undefined));
        return true;
      }
      case 'updateCounter': {
        if (this.bag) throw new ModelError('SC_ERR_WRONG_TABLE_TYPE');
        const isList = Array.isArray(op.ops) && (op.ops.length === 0 || typeof op.ops[0] !== 'number');
        const list = (isList ? op.ops : [op.ops]) as CounterOp[];
        const parsed = list.map((o) => (typeof o === 'number' ? [kp + 1, o] : [...o]) as number[]);
        for (const p of parsed) if (p[0] === kp) throw new ModelError('SC_ERR_BAD_COUNTER');
        const b = this.find(op.key);
        const it = b?.items[0];
        let base: Tuple;
        if (it !== undefined && this.live(it)) base = it.obj;
        else if (op.def !== undefined) {
          const d = [...build(op.def, kp)];
          d[kp] = op.key;
          base = d;
        } else throw new ModelError('SC_ERR_NOT_FOUND');
        const next = [...base];
        const results: number[] = [];
        for (const [pos, incr, thr, setv] of parsed as [number, number, number?, number?][]) {
          if (pos >= next.length) throw new ModelError('SC_ERR_BAD_COUNTER');
          const cur = next[pos];
          if (typeof cur !== 'number') throw new ModelError('SC_ERR_BAD_COUNTER');
          let v = cur + incr;
          if (thr !== undefined && (incr >= 0 ? v > thr : v < thr)) v = setv as number;
          next[pos] = v;
          results.push(v);
        }
        if (it !== undefined && this.live(it)) it.obj = next;
        else this.write(next, this.expOf(undefined));
        return isList ? results : results[0];
      }
      case 'lookup':
        return this.read(op.key);
      case 'member':
        return this.read(op.key).length > 0;
      case 'lookupElement': {
        const objs = this.liveObjs(op.key);
        if (objs.length === 0) {
          this.read(op.key);
          if (op.def !== undefined) return op.def;
          throw new ModelError('SC_ERR_NOT_FOUND');
        }
        if (objs.some((o) => op.pos >= o.length)) throw new ModelError('SC_ERR_TUPLE_TOO_SHORT');
        this.hits++;
        return this.bag ? objs.map((o) => o[op.pos]) : (objs[0] as Tuple)[op.pos];
      }
      case 'matchDelete': {
        const other = kp === 0 ? 1 : 0;
        let n = 0;
        for (const b of [...this.buckets]) {
          const gone = b.items.filter(
            (i) => this.live(i) && i.obj.length === 2 && termsEqual(i.obj[other] as Term, op.value),
          );
          n += gone.length;
          if (gone.length > 0) {
            b.items = b.items.filter((i) => !gone.includes(i));
            if (b.items.length === 0) this.remove(b);
          }
        }
        return n;
      }
      case 'advance':
        this.now += op.ms;
        return undefined;
      case 'sweep': {
        const expired = this.buckets
          .flatMap((b) => b.items.filter((i) => !this.live(i)).map((i) => ({ b, i })))
          .sort((x, y) => x.i.exp - y.i.exp)
          .slice(0, op.max);
        for (const { b, i } of expired) {
          b.items.splice(b.items.indexOf(i), 1);
          this.expirations++;
          if (b.items.length === 0) this.remove(b);
        }
        return expired.length;
      }
    }
  }
}

function applyTable(t: Table, clock: ManualClock, kp: number, op: Op): unknown {
  switch (op.op) {
    case 'insert':
      return t.insert(build(op.obj, kp), op.ttl === undefined ? undefined : { ttl: op.ttl });
    case 'insertNew':
      return t.insertNew(build(op.obj, kp), op.ttl === undefined ? undefined : { ttl: op.ttl });
    case 'insertMany':
      return t.insertMany(
        op.objs.map((s) => build(s, kp)),
        op.ttl === undefined ? undefined : { ttl: op.ttl },
      );
    case 'insertNewMany':
      return t.insertNewMany(op.objs.map((s) => build(s, kp)));
    case 'delete':
      return t.delete(op.key);
    case 'take':
      return t.take(op.key);
    case 'deleteObject':
      return t.deleteObject(build(op.obj, kp));
    case 'updateElement':
      return op.def === undefined
        ? t.updateElement(op.key, [op.pos, op.value])
        : t.updateElement(op.key, [op.pos, op.value], build(op.def, kp));
    case 'updateCounter':
      return op.def === undefined
        ? t.updateCounter(op.key, op.ops as CounterOp)
        : t.updateCounter(op.key, op.ops as CounterOp, build(op.def, kp));
    case 'lookup':
      return t.lookup(op.key);
    case 'member':
      return t.member(op.key);
    case 'lookupElement':
      return op.def === undefined ? t.lookupElement(op.key, op.pos) : t.lookupElement(op.key, op.pos, op.def);
    case 'matchDelete':
      return t.matchDelete(kp === 0 ? [_, op.value] : [op.value, _]);
    case 'advance':
      clock.advance(op.ms);
      return undefined;
    case 'sweep':
      return t.sweep(op.max);
  }
}

type Outcome = { ok: unknown } | { error: string };

function outcome(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof ModelError) return { error: e.code };
    if (SuperCacheError.is(e)) return { error: e.code };
    throw e;
  }
}

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint' ? `${x}n` : Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : x,
  );
}

function sameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  if ('error' in expected || 'error' in actual) {
    expect(actual, what).toEqual(expected);
    return;
  }
  const a = actual.ok;
  const b = expected.ok;
  const equal = a === undefined || b === undefined ? a === b : termsEqual(a as Term, b as Term);
  expect(equal, `${what}: got ${show(a)}, expected ${show(b)}`).toBe(true);
}

function walk(t: Table): Term[] {
  const out: Term[] = [];
  for (let k = t.first(); k !== undefined; k = t.next(k)) {
    out.push(k);
    if (out.length > 1000) throw new Error('walk does not end');
  }
  return out;
}

describe('Table (property)', () => {
  describe.each(TYPES)('%s', (type) => {
    it('behaves like the reference model over random operation sequences', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(0, 1),
          fc.constantFrom(0, 0, 7),
          fc.array(opArb, { maxLength: 60 }),
          // Walking converts a plain set to records: sometimes walk only at the end.
          fc.boolean(),
          (kp, defTtl, ops, walkEveryOp) => {
            const clock = new ManualClock();
            const t = new Table({ type, keyPos: kp, ttl: defTtl, clock, sweepIntervalMs: 0 });
            const m = new Model(type, kp, defTtl);
            ops.forEach((op, i) => {
              const what = `op #${i} ${show(op)}`;
              sameOutcome(
                outcome(() => applyTable(t, clock, kp, op)),
                outcome(() => m.apply(op)),
                what,
              );
              sameOutcome({ ok: t.size }, { ok: m.size() }, `${what} size`);
              sameOutcome({ ok: t.tab2list() }, { ok: m.tab2list() }, `${what} tab2list`);
              const st = t.stats();
              sameOutcome(
                { ok: { hits: st.hits, misses: st.misses, expirations: st.expirations } },
                { ok: m.stats() },
                `${what} stats`,
              );
              if (walkEveryOp) sameOutcome({ ok: walk(t) }, { ok: m.keys() }, `${what} first/next walk`);
            });
            sameOutcome({ ok: walk(t) }, { ok: m.keys() }, 'first/next walk at the end');
            // Backwards walk and folds agree with the forward order.
            const back: Term[] = [];
            for (let k = t.last(); k !== undefined; k = t.prev(k)) back.push(k);
            sameOutcome({ ok: back }, { ok: m.keys().reverse() }, 'last/prev walk');
            sameOutcome(
              { ok: t.foldr((o, acc: Tuple[]) => [...acc, o], []) },
              { ok: m.tab2list().reverse() },
              'foldr',
            );
            sameOutcome({ ok: [...t.entries()].map((e) => e.obj) }, { ok: m.tab2list() }, 'entries');
            // selectReverse reverses only an ordered_set (ETS); its pages add up to it.
            const all: MatchSpec = [[_, [], [$_]]];
            const rev = type === 'ordered_set' ? m.tab2list().reverse() : m.tab2list();
            sameOutcome({ ok: t.select(all) }, { ok: m.tab2list() }, 'select');
            sameOutcome({ ok: t.selectReverse(all) }, { ok: rev }, 'selectReverse');
            for (const limit of [1, 2, 5]) {
              const paged: Term[] = [];
              let page = t.selectReversePage(all, limit);
              for (let i = 0; ; i++) {
                expect(page.items.length).toBeLessThanOrEqual(limit);
                paged.push(...page.items);
                if (page.continuation === undefined || i > 1000) break;
                page = t.selectReversePage(page.continuation);
              }
              sameOutcome({ ok: paged }, { ok: rev }, `selectReversePage limit ${limit}`);
            }
          },
        ),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('behaves like the reference model over operations a plain set serves without records', () => {
      const plainKey = fc.constantFrom<Term>('a', 'b', 'c', 0, -0, 1n, Number.NaN, null, { x: 1 }, '\uD800x');
      const plainObj: fc.Arbitrary<ObjSpec> = fc.record({
        key: plainKey,
        vals: fc.array(valArb, { minLength: 1, maxLength: 2 }),
      });
      const noTtl = fc.constantFrom<number | undefined>(undefined, 0);
      const plainOp: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ op: fc.constant('insert' as const), obj: plainObj, ttl: noTtl }),
        fc.record({ op: fc.constant('insertNew' as const), obj: plainObj, ttl: noTtl }),
        fc.record({
          op: fc.constant('insertMany' as const),
          objs: fc.array(plainObj, { maxLength: 3 }),
          ttl: noTtl,
        }),
        fc.record({ op: fc.constant('delete' as const), key: plainKey }),
        fc.record({ op: fc.constant('take' as const), key: plainKey }),
        fc.record({ op: fc.constant('lookup' as const), key: keyArb }),
        fc.record({ op: fc.constant('member' as const), key: keyArb }),
        fc.record({
          op: fc.constant('lookupElement' as const),
          key: plainKey,
          pos: posArb,
          def: fc.option(valArb, { nil: undefined }),
        }),
        fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(1, 10) }),
        fc.record({ op: fc.constant('sweep' as const), max: fc.constantFrom(1, 1000) }),
      );
      fc.assert(
        fc.property(fc.constantFrom(0, 1), fc.array(plainOp, { maxLength: 60 }), opArb, (kp, ops, last) => {
          const clock = new ManualClock();
          const t = new Table({ type, keyPos: kp, clock, sweepIntervalMs: 0 });
          const m = new Model(type, kp, 0);
          ops.forEach((op, i) => {
            const what = `op #${i} ${show(op)}`;
            sameOutcome(
              outcome(() => applyTable(t, clock, kp, op)),
              outcome(() => m.apply(op)),
              what,
            );
            sameOutcome({ ok: t.size }, { ok: m.size() }, `${what} size`);
            sameOutcome({ ok: t.tab2list() }, { ok: m.tab2list() }, `${what} tab2list`);
            sameOutcome(
              { ok: t.info().memory },
              { ok: m.tab2list().reduce((n, o) => n + termBytes(o), 0) },
              `${what} memory`,
            );
          });
          // Then any operation (it may convert the table), and a walk.
          sameOutcome(
            outcome(() => applyTable(t, clock, kp, last)),
            outcome(() => m.apply(last)),
            `last op ${show(last)}`,
          );
          sameOutcome({ ok: t.tab2list() }, { ok: m.tab2list() }, 'tab2list at the end');
          sameOutcome({ ok: walk(t) }, { ok: m.keys() }, 'first/next walk at the end');
        }),
        { seed: SEED + 2, numRuns: RUNS },
      );
    });

    it('pages over every key present for the whole paging exactly once', () => {
      const modArb = fc.oneof(
        fc.record({ kind: fc.constant('insert' as const), key: fc.integer({ min: 0, max: 80 }) }),
        fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 80 }) }),
      );
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
          fc.integer({ min: 1, max: 7 }),
          fc.array(fc.array(modArb, { maxLength: 4 }), { maxLength: 30 }),
          (initial, limit, mods) => {
            const t = new Table({ type, sweepIntervalMs: 0 });
            for (const k of initial) t.insert([k, 'v']);
            const touched = new Set<number>();
            const seen = new Map<number, number>();
            let page = t.matchObjectPage(_, limit);
            for (let i = 0; ; i++) {
              expect(page.items.length).toBeLessThanOrEqual(limit);
              for (const o of page.items) seen.set(o[0] as number, (seen.get(o[0] as number) ?? 0) + 1);
              if (page.continuation === undefined) break;
              const batch = mods[i] ?? [];
              for (const m of batch) {
                touched.add(m.key);
                if (m.kind === 'insert') t.insert([m.key, 'w']);
                else t.delete(m.key);
              }
              // Through the wire: plain data, the pattern in the markers codec.
              const c = page.continuation as Continuation & { pattern: unknown };
              const wire = JSON.parse(JSON.stringify({ ...c, pattern: encodeMarkers(c.pattern as never) }));
              page = t.matchObjectPage({ ...wire, pattern: decodePattern(wire.pattern) } as Continuation);
            }
            for (const k of initial) if (!touched.has(k)) expect(seen.get(k), `key ${k}`).toBe(1);
            for (const [k, n] of seen) {
              if (!touched.has(k)) expect(n, `key ${k}`).toBe(1);
              else expect(n).toBeLessThanOrEqual(type === 'ordered_set' || type === 'set' ? 2 : 4);
            }
          },
        ),
        { seed: SEED + 1, numRuns: RUNS },
      );
    });
  });
});
