/**
 * The static check `selectReplace` runs before it touches an object: every
 * clause's body must keep the key, as ETS's `select_replace` demands. A body
 * that merely could change the key (`['+', $1, 0]` in the key position) is
 * refused even when no object matches, because whether it changes the key
 * depends on data the check cannot see. Internal; `Table.selectReplace`
 * calls it.
 */

import { compileExpr, FAIL } from './match-expr.js';
import { badSpec } from './match-internal.js';
import { markerKind } from './match-markers.js';
import { planPattern } from './match-pattern.js';
import { termsEqual } from './terms.js';

/**
 * Throws unless every clause of an (already validated) spec returns an
 * object with the matched object's key: the whole object (`$_`), or a
 * tuple (`['tuple', …]`, or a `['const', …]` array) whose element at
 * `keyPos` provably equals the key.
 *
 * The key is provably kept when the body's key expression is the head's
 * key variable, a constant equal to a constant head key, a `['tuple', …]`
 * that rebuilds a composite head key part by part, or the key read off the
 * object (`['element', keyPos + 1, $_]`, `['at', keyPos, $_]`).
 *
 * @throws SuperCacheError `SC_ERR_BAD_MATCH_SPEC` naming the clause.
 */
export function assertReplaceKeepsKey(spec: readonly unknown[], keyPos: number): void {
  for (let i = 0; i < spec.length; i++) {
    const [head, , body] = spec[i] as readonly [unknown, readonly unknown[], readonly unknown[]];
    const result = body[body.length - 1];
    const headKey = Array.isArray(head) && markerKind(head) === undefined ? head[keyPos] : NO_HEAD_KEY;
    if (!keepsKey(result, headKey, keyPos, head)) {
      throw badSpec(
        `spec[${i}].body[${body.length - 1}]`,
        `selectReplace: the body must return the matched object ($_) or a tuple whose element ${keyPos} ` +
          "is the head's key (the same variable or constant); a body that can change the key is refused",
      );
    }
  }
}

const NO_HEAD_KEY = Symbol('no head key');

function keepsKey(result: unknown, headKey: unknown, keyPos: number, head: unknown): boolean {
  if (markerKind(result) === 'whole') return true;
  if (!Array.isArray(result) || markerKind(result) !== undefined) return false;
  if (result[0] === 'tuple') {
    // ['tuple', e0, e1, …]: the key expression is argument keyPos + 1.
    if (result.length <= keyPos + 1) return false;
    return sameKey(result[keyPos + 1], headKey, keyPos, head);
  }
  if (result[0] === 'const') {
    const lit = result[1];
    if (!Array.isArray(lit) || lit.length <= keyPos) return false;
    return isGround(headKey) && termsEqual(lit[keyPos] as never, headKey as never);
  }
  return false;
}

/** True when expression `e` evaluates to the key matched by head part `h`. */
function sameKey(e: unknown, h: unknown, keyPos: number, head: unknown): boolean {
  if (isKeyOfObject(e, keyPos)) return true;
  if (h === NO_HEAD_KEY) return false;
  const hk = markerKind(h);
  if (hk === 'var') {
    return markerKind(e) === 'var' && (e as { index: number }).index === (h as { index: number }).index;
  }
  if (hk !== undefined) return false;
  if (isGround(h)) {
    const c = constantOf(e, head);
    return c.ok && termsEqual(c.value as never, h as never);
  }
  if (Array.isArray(h)) {
    if (!Array.isArray(e) || e[0] !== 'tuple' || e.length !== h.length + 1) return false;
    for (let j = 0; j < h.length; j++) if (!sameKey(e[j + 1], h[j], -1, head)) return false;
    return true;
  }
  return false;
}

/** `['element', keyPos + 1, $_]` or `['at', keyPos, $_]`: the key read off the object. */
function isKeyOfObject(e: unknown, keyPos: number): boolean {
  if (keyPos < 0 || !Array.isArray(e) || e.length !== 3 || markerKind(e[2]) !== 'whole') return false;
  return (e[0] === 'element' && e[1] === keyPos + 1) || (e[0] === 'at' && e[1] === keyPos);
}

/** True for a part of a head that holds no marker (a literal term). */
function isGround(h: unknown): boolean {
  if (h === NO_HEAD_KEY) return false;
  if (markerKind(h) !== undefined) return false;
  if (Array.isArray(h)) return h.every(isGround);
  if (typeof h === 'object' && h !== null && !(h instanceof Uint8Array)) {
    return Object.values(h as Record<string, unknown>).every(isGround);
  }
  return true;
}

/** The value of a constant expression (folded as the compiler folds it). */
function constantOf(e: unknown, head: unknown): { ok: boolean; value: unknown } {
  const plan = planPattern(head, 'head');
  const c = compileExpr(e, 'body', 0, { slotOf: plan.slotOf, used: new Set(), usesAll: false });
  return c.constant && c.value !== FAIL ? { ok: true, value: c.value } : { ok: false, value: undefined };
}
