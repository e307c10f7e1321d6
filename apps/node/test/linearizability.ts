/**
 * A linearizability checker for per-key register histories: writes of
 * distinct values and reads that return a value (or nothing), each with the
 * time it was invoked and the time its answer arrived. A write whose outcome
 * is unknown (it failed in a way that may have applied it) has no answer
 * time: it may take effect at any point after its invocation, or never.
 *
 * The search is Wing & Gong's, with Lowe's memoisation of visited
 * configurations (the set of operations linearized so far plus the register
 * value), as Knossos does: at each step any pending operation invoked before
 * the earliest answer among the pending ones may be linearized next.
 */

/** One operation on one key. `value` null means "no value" (a read miss, or the initial state). */
export interface RegisterOp {
  readonly kind: 'write' | 'read';
  readonly value: number | null;
  /** When the call was sent (ms, any monotonic clock shared by the history). */
  readonly invoke: number;
  /** When the answer arrived; undefined for a write whose outcome is unknown. */
  readonly complete: number | undefined;
}

/** The verdict on one key. */
export type KeyVerdict =
  | { readonly ok: true; readonly states: number }
  | {
      readonly ok: false;
      readonly reason: 'not linearizable' | 'search budget exceeded';
      readonly states: number;
    };

/** The verdict on a whole history. */
export interface HistoryVerdict {
  readonly ok: boolean;
  readonly keys: number;
  readonly ops: number;
  /** Keys that failed, with their verdict. */
  readonly failures: ReadonlyArray<{ key: string; verdict: KeyVerdict }>;
}

/** Most configurations the search visits per key before it gives up (a give-up is a failure). */
const DEFAULT_BUDGET = 2_000_000;

/**
 * Checks one key's history against a register that starts with no value.
 * Operations may come in any order.
 */
export function checkRegister(history: readonly RegisterOp[], budget = DEFAULT_BUDGET): KeyVerdict {
  const ops = [...history].sort((x, y) => x.invoke - y.invoke);
  const n = ops.length;
  const response = ops.map((o) => o.complete ?? Number.POSITIVE_INFINITY);
  const required = ops.reduce((k, o) => k + (o.complete === undefined ? 0 : 1), 0);
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let states = 0;
  let exhausted = false;

  const keyOf = (value: number | null): string => {
    // The set of linearized operations, as a compact string of bytes, plus the value.
    let s = '';
    for (let i = 0; i < n; i += 16) {
      let bits = 0;
      for (let j = 0; j < 16 && i + j < n; j++) if (done[i + j] === 1) bits |= 1 << j;
      s += String.fromCharCode(bits);
    }
    return `${s}|${value === null ? '-' : value}`;
  };

  const search = (value: number | null, linearizedRequired: number): boolean => {
    if (linearizedRequired === required) return true;
    const k = keyOf(value);
    if (seen.has(k)) return false;
    seen.add(k);
    if (++states > budget) {
      exhausted = true;
      return false;
    }
    // The earliest answer among pending operations bounds what may go next.
    let horizon = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++)
      if (done[i] === 0 && (response[i] as number) < horizon) horizon = response[i] as number;
    for (let i = 0; i < n; i++) {
      const op = ops[i] as RegisterOp;
      if (op.invoke > horizon) break;
      if (done[i] === 1) continue;
      if (op.kind === 'read' && op.value !== value) continue;
      done[i] = 1;
      const counted = linearizedRequired + (op.complete === undefined ? 0 : 1);
      const ok = search(op.kind === 'write' ? op.value : value, counted);
      done[i] = 0;
      if (ok) return true;
      if (exhausted) return false;
    }
    return false;
  };

  const ok = search(null, 0);
  if (ok) return { ok: true, states };
  return { ok: false, reason: exhausted ? 'search budget exceeded' : 'not linearizable', states };
}

/** Checks every key's history; a history is linearizable when each key's is (registers compose). */
export function checkHistory(
  history: ReadonlyMap<string, readonly RegisterOp[]>,
  budget = DEFAULT_BUDGET,
): HistoryVerdict {
  const failures: Array<{ key: string; verdict: KeyVerdict }> = [];
  let ops = 0;
  for (const [key, h] of history) {
    ops += h.length;
    const verdict = checkRegister(h, budget);
    if (!verdict.ok) failures.push({ key, verdict });
  }
  return { ok: failures.length === 0, keys: history.size, ops, failures };
}
