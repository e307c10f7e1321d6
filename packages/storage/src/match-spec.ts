/**
 * Match-spec compilation: every clause becomes one closure that matches the
 * head, checks the guards and evaluates the body against a reusable scratch
 * array of bindings. Internal; the public entry point is `compileMatchSpec`
 * in `match.ts`.
 */

import type { CompiledExpr, Ev, ExprScope, Value } from './match-expr.js';
import { compileExpr, EQUALITY_OPS, FAIL } from './match-expr.js';
import { badSpec, describeValue } from './match-internal.js';
import { markerKind } from './match-markers.js';
import type { Matcher } from './match-pattern.js';
import { buildMatcher, exactKeyOf, planPattern } from './match-pattern.js';
import type { Term, Tuple } from './terms.js';
import { termsEqual } from './terms.js';

/** A compiled spec before it is wrapped for the public API. */
export interface SpecProgram {
  /** The body result of the first matching clause, or `FAIL`. */
  readonly run: (obj: Tuple) => Value;
  /** The key every clause fixes, if they all fix the same one. */
  readonly key: { key: Term } | undefined;
}

type Clause = (obj: Tuple) => Value;

interface CompiledClause {
  readonly run: Clause;
  /** False when a constant guard or body makes the clause never match. */
  readonly live: boolean;
  readonly key: { key: Term } | undefined;
}

/**
 * Validates and compiles a match spec.
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` naming the bad part.
 */
export function compileSpec(spec: unknown, keyPos: number): SpecProgram {
  if (!Array.isArray(spec)) {
    throw badSpec(
      'spec',
      `a match spec must be an array of [head, guards, body] clauses, got ${describeValue(spec)}`,
    );
  }
  const compiled: CompiledClause[] = [];
  for (let i = 0; i < spec.length; i++)
    compiled.push(compileClause(i in spec ? spec[i] : undefined, i, keyPos));
  const live = compiled.filter((c) => c.live);
  const clauses = live.map((c) => c.run);
  return { run: runner(clauses), key: commonKey(live) };
}

function commonKey(clauses: readonly CompiledClause[]): { key: Term } | undefined {
  const first = clauses[0]?.key;
  if (first === undefined) return undefined;
  for (const c of clauses) if (c.key === undefined || !termsEqual(c.key.key, first.key)) return undefined;
  return first;
}

function runner(clauses: readonly Clause[]): (obj: Tuple) => Value {
  const n = clauses.length;
  if (n === 0) return () => FAIL;
  if (n === 1) {
    const c0 = clauses[0]!;
    return (obj) => {
      try {
        return c0(obj);
      } catch {
        // A guard or body that throws (a stack overflow on a huge term, say)
        // fails its clause, as an exception in an ETS guard does.
        return FAIL;
      }
    };
  }
  return (obj) => {
    for (let i = 0; i < n; i++) {
      try {
        const r = clauses[i]!(obj);
        if (r !== FAIL) return r;
      } catch {
        // As above: the clause fails, the next one is tried.
      }
    }
    return FAIL;
  };
}

function compileClause(clause: unknown, i: number, keyPos: number): CompiledClause {
  const path = `spec[${i}]`;
  if (!Array.isArray(clause) || clause.length !== 3) {
    throw badSpec(
      path,
      `a clause must be a 3-element array [head, guards, body], got ${Array.isArray(clause) ? `an array of ${clause.length}` : describeValue(clause)}`,
    );
  }
  const [head, guards, body] = clause as [unknown, unknown, unknown];
  const plan = planPattern(head, `${path}.head`);
  if (!Array.isArray(guards)) {
    throw badSpec(
      `${path}.guards`,
      `must be an array of guard expressions ([] for none), got ${describeValue(guards)}`,
    );
  }
  if (!Array.isArray(body) || body.length === 0) {
    throw badSpec(
      `${path}.body`,
      `must be a non-empty array of expressions, got ${Array.isArray(body) ? 'an empty array' : describeValue(body)}`,
    );
  }
  const scope: ExprScope = { slotOf: plan.slotOf, used: new Set(), usesAll: false };
  const cg: CompiledExpr[] = [];
  for (let j = 0; j < guards.length; j++) {
    cg.push(compileExpr(j in guards ? guards[j] : undefined, `${path}.guards[${j}]`, 0, scope));
  }
  const cb: CompiledExpr[] = [];
  for (let j = 0; j < body.length; j++) {
    cb.push(compileExpr(j in body ? body[j] : undefined, `${path}.body[${j}]`, 0, scope));
  }
  const matcher = buildMatcher(head, plan, (n) => scope.usesAll || scope.used.has(n));

  // A constant guard that is not `true`, or a constant body expression that
  // fails, means the clause can never match.
  const live =
    cg.every((g) => !g.constant || g.value === true) && cb.every((e) => !e.constant || e.value !== FAIL);
  const guardEvs = cg.filter((g) => !g.constant).map((g) => g.ev);
  const last = cb[cb.length - 1]!;
  // Earlier body expressions only matter if they can fail.
  const bodyEvs = cb
    .slice(0, -1)
    .filter((e) => !e.constant)
    .map((e) => e.ev)
    .concat(last.ev);
  // One scratch array per clause, reused for every object: `run` is
  // synchronous and calls no user code, so it cannot be re-entered.
  const scratch: Term[] = new Array(plan.vars.length).fill(null);
  return {
    run: clauseRunner(matcher, guardEvs, bodyEvs, scratch),
    live,
    key: exactKeyOf(head, keyPos) ?? keyFromGuards(head, keyPos, guards, plan.slotOf),
  };
}

function clauseRunner(head: Matcher | null, guards: readonly Ev[], body: readonly Ev[], b: Term[]): Clause {
  const ng = guards.length;
  const nb = body.length;
  if (ng === 0 && nb === 1) {
    const e0 = body[0]!;
    if (head === null) return (o) => e0(b, o);
    return (o) => (head(o, b) ? e0(b, o) : FAIL);
  }
  return (o) => {
    if (head !== null && !head(o, b)) return FAIL;
    for (let i = 0; i < ng; i++) if (guards[i]!(b, o) !== true) return FAIL;
    let v: Value = FAIL;
    for (let i = 0; i < nb; i++) {
      v = body[i]!(b, o);
      if (v === FAIL) return FAIL;
    }
    return v;
  };
}

/**
 * The key fixed by a guard: when the head has a variable `$n` at `keyPos` and
 * a top-level guard is `['=:=', $n, K]` (or `==`, `===`, either side) with a
 * constant `K`, every object the clause accepts has key `K`. This is the
 * shape `fun2ms`-style generators emit for `fn([k, v]) when k === 'x'`.
 */
function keyFromGuards(
  head: unknown,
  keyPos: number,
  guards: readonly unknown[],
  slotOf: ReadonlyMap<number, number>,
): { key: Term } | undefined {
  if (!Array.isArray(head) || keyPos >= head.length) return undefined;
  const kv: unknown = head[keyPos];
  if (markerKind(kv) !== 'var') return undefined;
  const n = (kv as { index: number }).index;
  const isKeyVar = (x: unknown): boolean => markerKind(x) === 'var' && (x as { index: number }).index === n;
  for (const g of guards) {
    if (!Array.isArray(g) || g.length !== 3 || !EQUALITY_OPS.has(g[0] as string)) continue;
    const other = isKeyVar(g[1]) ? g[2] : isKeyVar(g[2]) ? g[1] : undefined;
    if (other === undefined) continue;
    // Already validated by the clause compilation; this only folds it.
    const c = compileExpr(other, 'guard', 0, { slotOf, used: new Set(), usesAll: false });
    if (c.constant && c.value !== FAIL) return { key: c.value };
  }
  return undefined;
}
