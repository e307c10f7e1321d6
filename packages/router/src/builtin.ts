/**
 * The built-in commands: the whole storage API, split into single-shard
 * commands and per-node fan-out commands with their merge functions.
 */

import {
  compareTerms,
  compileMatchSpec,
  compilePattern,
  type MatchSpec,
  NO_MATCH,
  type Pattern,
  SuperCacheError,
  type Table,
  type TableStats,
  type TableType,
  type Term,
  type Tuple,
} from '@supercache/storage';
import {
  type Command,
  type CommandContext,
  concatMerge,
  mergeKeyed,
  type NodeCommand,
  type ShardCommand,
  sumMerge,
  writeObjects,
} from './commands.js';
import { sumStats } from './helpers.js';

function shard(write: boolean, run: ShardCommand['run']): ShardCommand {
  return { scope: 'shard', write, run };
}

function node(write: boolean, run: NodeCommand['run'], merge: NodeCommand['merge']): NodeCommand {
  return { scope: 'node', write, run, merge };
}

/** The optional ttl argument of a write: absent, or a number (storage checks its range). */
function ttlArg(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `ttl must be a number of milliseconds, got ${typeof v}`, {
      details: { option: 'ttl' },
    });
  }
  return v;
}

function keyPosOf(t: Table): number {
  return t.info().keyPos;
}

/** How one table's objects turn into results; `key` set when only one key can match. */
interface ItemFn {
  readonly fn: (obj: Tuple) => unknown;
  readonly keyBound: boolean;
  readonly key: Term | undefined;
}

/** `[key, item]` pairs of a table, in the table's order, for ordered merges. */
function keyed(t: Table, item: ItemFn, reverse = false): Array<readonly [Term, unknown]> {
  const kp = keyPosOf(t);
  const out: Array<readonly [Term, unknown]> = [];
  const items = item.fn;
  const source = item.keyBound ? t.lookupEntries(item.key as Term) : t.entries();
  for (const e of source) {
    const r = items(e.obj);
    if (r !== undefined) out.push([e.obj[kp] as Term, r]);
  }
  if (reverse) out.reverse();
  return out;
}

/** Per-node merge: ordered tables merge by key, others concatenate. */
function mergeByType(results: unknown[], _args: readonly unknown[], info: { type: TableType }): unknown {
  if (info.type === 'ordered_set') return mergeKeyed(results as Array<Array<readonly [Term, unknown]>>);
  return concatMerge(results);
}

function mergeByTypeReverse(
  results: unknown[],
  _args: readonly unknown[],
  info: { type: TableType },
): unknown {
  if (info.type === 'ordered_set') {
    return mergeKeyed(results as Array<Array<readonly [Term, unknown]>>, true);
  }
  return concatMerge(results);
}

/** The table methods a fan-out read calls directly on unordered tables. */
type DirectRead = 'select' | 'selectReverse' | 'match' | 'matchObject' | 'tab2list';

/**
 * Fan-out read. On `ordered_set` it yields `[key, item]` pairs so the merge
 * across shards and nodes keeps term order; on the other types, whose order
 * carries no meaning across shards, it returns plain items straight from
 * the table's own (key-bound aware) method. {@link fanoutValues} unwraps
 * either shape.
 */
function fanRead(
  direct: DirectRead,
  item: (t: Table, args: readonly unknown[]) => ItemFn,
  reverse = false,
): NodeCommand {
  return node(
    false,
    (tables, args) => {
      const type = tables[0]?.type ?? 'set';
      if (type === 'ordered_set') {
        const out: Array<Array<readonly [Term, unknown]>> = [];
        for (const t of tables) out.push(keyed(t, item(t, args), reverse));
        return mergeKeyed(out, reverse);
      }
      const lists: unknown[][] = [];
      for (const t of tables) {
        lists.push(direct === 'tab2list' ? t.tab2list() : (t[direct] as (a: unknown) => unknown[])(args[0]));
      }
      return concatMerge(lists);
    },
    reverse ? mergeByTypeReverse : mergeByType,
  );
}

/**
 * The items of a fan-out read's merged result: `ordered_set` results are
 * `[key, item]` pairs, the others plain items.
 */
export function fanoutValues(result: unknown, type: TableType): unknown[] {
  const r = result as unknown[];
  if (type !== 'ordered_set') return r;
  const out = new Array<unknown>(r.length);
  for (let i = 0; i < r.length; i++) out[i] = (r[i] as readonly [Term, unknown])[1];
  return out;
}

const NONE = Symbol('none');

/**
 * The built-in command set. Shard commands take the key or objects; node
 * commands take a pattern or spec and return per-node partial results.
 */
export function builtinCommands(): Record<string, Command> {
  const specItem = (t: Table, args: readonly unknown[]): ItemFn => {
    const c = compileMatchSpec(args[0] as MatchSpec, keyPosOf(t));
    return {
      fn: (o: Tuple) => {
        const r = c.run(o);
        return r === NO_MATCH ? undefined : r;
      },
      keyBound: c.keyBound,
      key: c.key,
    };
  };
  const matchItem = (t: Table, args: readonly unknown[]): ItemFn => {
    const c = compilePattern(args[0] as Pattern, keyPosOf(t));
    return { fn: (o: Tuple) => c.match(o), keyBound: c.keyBound, key: c.key };
  };
  const matchObjectItem = (t: Table, args: readonly unknown[]): ItemFn => {
    const c = compilePattern(args[0] as Pattern, keyPosOf(t));
    return { fn: (o: Tuple) => (c.test(o) ? o : undefined), keyBound: c.keyBound, key: c.key };
  };
  const all: ItemFn = { fn: (o: Tuple) => o, keyBound: false, key: undefined };

  return {
    // ---- single shard --------------------------------------------------
    insert: shard(true, (t, a, ctx) => {
      writeObjects(t, a[0] as Tuple[], ttlArg(a[1]), ctx);
      return true;
    }),
    insertNew: shard(true, (t, a, ctx) => {
      const obj = a[0] as Tuple;
      if (t.member(obj[keyPosOf(t)] as Term)) return false;
      writeObjects(t, [obj], ttlArg(a[1]), ctx);
      return true;
    }),
    insertNewMany: shard(true, (t, a, ctx) => {
      const objs = a[0] as Tuple[];
      const opts: { ttl?: number; version?: string } = {};
      const ttl = ttlArg(a[1]);
      if (ttl !== undefined) opts.ttl = ttl;
      if (ctx.version !== undefined) opts.version = ctx.version;
      const ok = t.insertNewMany(objs, opts);
      if (ok && ctx.touched !== undefined) for (const o of objs) ctx.touched(t, o[keyPosOf(t)] as Term);
      return ok;
    }),
    anyMember: shard(false, (t, a) => (a[0] as Term[]).some((k) => t.member(k))),
    deleteObjects: shard(true, (t, a, ctx) => {
      for (const o of a[0] as Tuple[]) {
        t.deleteObject(o);
        ctx.touched?.(t, o[keyPosOf(t)] as Term);
      }
      return true;
    }),
    lookup: shard(false, (t, a) => t.lookup(a[0] as Term)),
    lookupEntries: shard(false, (t, a) =>
      t.lookupEntries(a[0] as Term).map((e) => [e.obj, e.expiresAt, e.version ?? null]),
    ),
    // A third argument is the default (ETS lookup_element/4).
    lookupElement: shard(false, (t, a) =>
      a.length > 2
        ? t.lookupElement(a[0] as Term, a[1] as number, a[2] as Term)
        : t.lookupElement(a[0] as Term, a[1] as number),
    ),
    member: shard(false, (t, a) => t.member(a[0] as Term)),
    take: shard(true, (t, a, ctx) => {
      const r = t.take(a[0] as Term);
      ctx.touched?.(t, a[0] as Term);
      return r;
    }),
    delete: shard(true, (t, a, ctx) => {
      t.delete(a[0] as Term);
      ctx.touched?.(t, a[0] as Term);
      return true;
    }),
    deleteObject: shard(true, (t, a, ctx) => {
      const obj = a[0] as Tuple;
      t.deleteObject(obj);
      ctx.touched?.(t, obj[keyPosOf(t)] as Term);
      return true;
    }),
    updateCounter: shard(true, (t, a, ctx) => {
      const key = a[0] as Term;
      // One op or a list of ops: the table tells them apart at run time.
      const update = t.updateCounter.bind(t) as (k: Term, op: unknown, d?: Tuple) => number | number[];
      const r =
        a.length > 2 && a[2] !== null && a[2] !== undefined
          ? update(key, a[1], a[2] as Tuple)
          : update(key, a[1]);
      restamp(t, key, ctx);
      return r;
    }),
    updateElement: shard(true, (t, a, ctx) => {
      const key = a[0] as Term;
      // A third argument is the default object (ETS update_element/4).
      const r =
        a.length > 2
          ? t.updateElement(key, a[1] as never, a[2] as Tuple)
          : t.updateElement(key, a[1] as never);
      if (r) restamp(t, key, ctx);
      return r;
    }),

    // ---- fan-out, once per node -------------------------------------------
    select: fanRead('select', specItem),
    selectReverse: fanRead('selectReverse', specItem, true),
    match: fanRead('match', matchItem),
    matchObject: fanRead('matchObject', matchObjectItem),
    tab2list: fanRead('tab2list', () => all),
    selectCount: node(false, (ts, a) => sumOver(ts, (t) => t.selectCount(a[0] as MatchSpec)), sumMerge),
    selectDelete: node(
      true,
      (ts, a, ctx) => sumOver(ts, (t) => trackDeletes(t, ctx, () => t.selectDelete(a[0] as MatchSpec))),
      sumMerge,
    ),
    selectReplace: node(
      true,
      (ts, a, ctx) => sumOver(ts, (t) => trackAll(t, ctx, () => t.selectReplace(a[0] as MatchSpec))),
      sumMerge,
    ),
    matchDelete: node(
      true,
      (ts, a, ctx) => sumOver(ts, (t) => trackDeletes(t, ctx, () => t.matchDelete(a[0] as Pattern))),
      sumMerge,
    ),
    deleteAllObjects: node(
      true,
      (ts, _a, ctx) =>
        sumOver(ts, (t) => {
          const n = t.size;
          if (ctx.touched !== undefined)
            for (const e of t.entries()) ctx.touched(t, e.obj[keyPosOf(t)] as Term);
          t.deleteAllObjects();
          return n;
        }),
      sumMerge,
    ),
    size: node(false, (ts) => sumOver(ts, (t) => t.size), sumMerge),
    memory: node(false, (ts) => sumOver(ts, (t) => t.info().memory), sumMerge),
    stats: node(
      false,
      (ts) => sumStats(ts.map((t) => t.stats())),
      (rs) => sumStats(rs as TableStats[]),
    ),
    next: node(
      false,
      (ts, a) => step(ts, a[0] as Term, 'next'),
      (rs, _a, info) => mergeStep(rs, 'next', info.type),
    ),
    prev: node(
      false,
      (ts, a) => step(ts, a[0] as Term, 'prev'),
      (rs, _a, info) => mergeStep(rs, 'prev', info.type),
    ),
    first: node(
      false,
      (ts) => edge(ts, 'first'),
      (rs, _a, info) => pickEdge(rs, 'first', info.type),
    ),
    last: node(
      false,
      (ts) => edge(ts, 'last'),
      (rs, _a, info) => pickEdge(rs, 'last', info.type),
    ),
  };
}

function sumOver(tables: readonly Table[], f: (t: Table) => number): number {
  let n = 0;
  for (const t of tables) n += f(t);
  return n;
}

function restamp(t: Table, key: Term, ctx: CommandContext): void {
  ctx.touched?.(t, key);
  if (ctx.version === undefined) return;
  for (const e of t.lookupEntries(key))
    t.insertEntry(e.obj, { expiresAt: e.expiresAt, version: ctx.version });
}

/** Runs a bulk delete and reports the keys it removed to `ctx.touched`. */
function trackDeletes(t: Table, ctx: CommandContext, f: () => number): number {
  if (ctx.touched === undefined) return f();
  const kp = keyPosOf(t);
  const before = new Set<unknown>();
  const keys: Term[] = [];
  for (const e of t.entries()) {
    const k = e.obj[kp] as Term;
    keys.push(k);
    before.add(k);
  }
  const n = f();
  for (const k of keys) if (!t.member(k)) ctx.touched(t, k);
  return n;
}

/** Runs a bulk change and reports every key of the table to `ctx.touched`. */
function trackAll(t: Table, ctx: CommandContext, f: () => number): number {
  const n = f();
  if (ctx.touched !== undefined && n > 0) {
    const kp = keyPosOf(t);
    for (const e of t.entries()) ctx.touched(t, e.obj[kp] as Term);
  }
  return n;
}

function edge(tables: readonly Table[], which: 'first' | 'last'): Term[] {
  // [] when empty, [key] otherwise: undefined does not survive the wire.
  const type = tables[0]?.info().type ?? 'set';
  let best: Term | typeof NONE = NONE;
  const order = which === 'first' ? tables : [...tables].reverse();
  for (const t of order) {
    const k = t[which]();
    if (k === undefined) continue;
    if (type !== 'ordered_set') return [k];
    if (best === NONE || (which === 'first' ? compareTerms(k, best) < 0 : compareTerms(k, best) > 0))
      best = k;
  }
  return best === NONE ? [] : [best];
}

function pickEdge(results: unknown[], which: 'first' | 'last', type: TableType): Term[] {
  let best: Term | typeof NONE = NONE;
  const order = which === 'first' ? results : [...results].reverse();
  for (const r of order as Term[][]) {
    if (r.length === 0) continue;
    const k = r[0] as Term;
    if (type !== 'ordered_set') return [k];
    if (best === NONE || (which === 'first' ? compareTerms(k, best) < 0 : compareTerms(k, best) > 0))
      best = k;
  }
  return best === NONE ? [] : [best];
}

/** Throws the error for a command that needs a key-ordered table. */
export function needsOrdered(type: TableType, op: string): void {
  if (type !== 'ordered_set') {
    throw new SuperCacheError(
      'SC_ERR_WRONG_TABLE_TYPE',
      `${op} needs an ordered_set table, this one is ${type}`,
    );
  }
}

/**
 * A `next`/`prev` step over one node's tables. `f`: the key was found here;
 * `n`: the step's answer within this node (`[]` if none); `e`: this node's
 * first key (for `next`) or last key (for `prev`), so the caller can cross
 * into the following node in one round trip.
 */
interface StepResult {
  f: boolean;
  n: Term[];
  e: Term[];
}

function step(tables: readonly Table[], key: Term, dir: 'next' | 'prev'): StepResult {
  const type = tables[0]?.info().type ?? 'set';
  const e = edge(tables, dir === 'next' ? 'first' : 'last');
  if (type === 'ordered_set') {
    let best: Term | typeof NONE = NONE;
    for (const t of tables) {
      const k = t[dir](key);
      if (k === undefined) continue;
      if (best === NONE || (dir === 'next' ? compareTerms(k, best) < 0 : compareTerms(k, best) > 0)) best = k;
    }
    return { f: true, n: best === NONE ? [] : [best], e };
  }
  const order = dir === 'next' ? tables : [...tables].reverse();
  let found = false;
  for (const t of order) {
    if (!found) {
      if (!t.member(key)) continue;
      found = true;
      const k = t[dir](key);
      if (k !== undefined) return { f: true, n: [k], e };
      continue;
    }
    const k = t[dir === 'next' ? 'first' : 'last']();
    if (k !== undefined) return { f: true, n: [k], e };
  }
  return { f: found, n: [], e };
}

function mergeStep(results: unknown[], dir: 'next' | 'prev', type: TableType): StepResult {
  const rs = results as StepResult[];
  if (type === 'ordered_set') {
    let best: Term | typeof NONE = NONE;
    for (const r of rs) {
      const k = r.n[0];
      if (r.n.length === 0) continue;
      if (
        best === NONE ||
        (dir === 'next' ? compareTerms(k as Term, best) < 0 : compareTerms(k as Term, best) > 0)
      ) {
        best = k as Term;
      }
    }
    return {
      f: true,
      n: best === NONE ? [] : [best],
      e: pickEdge(
        rs.map((r) => r.e),
        dir === 'next' ? 'first' : 'last',
        type,
      ),
    };
  }
  const order = dir === 'next' ? rs : [...rs].reverse();
  let found = false;
  for (const r of order) {
    if (!found) {
      if (!r.f) continue;
      found = true;
      if (r.n.length > 0) return { f: true, n: r.n, e: [] };
      continue;
    }
    if (r.e.length > 0) return { f: true, n: r.e, e: [] };
  }
  const firstEdge = order.find((r) => r.e.length > 0);
  return { f: found, n: [], e: firstEdge === undefined ? [] : firstEdge.e };
}
