/**
 * Handoffs in progress on this node, from its `handoffProgress` events, for
 * the dashboard and `supercache-node status`. A handoff has no known total
 * of entries up front, so progress is the share of its phases this node's
 * role has passed (start, snapshot, delta, switch for a source; staged,
 * applied for a target; start, committed for the leader), shown beside the
 * entries moved so far.
 */

import type { HandoffProgressEvent } from '@supercache/cluster';
import type { ActiveHandoff } from './cluster-source.js';

/** Share of the work done when a role reports a phase. */
const PHASE_PROGRESS: Readonly<Record<string, number>> = {
  start: 0.05,
  snapshot: 0.4,
  delta: 0.75,
  switch: 0.9,
  staged: 0.6,
  applied: 0.95,
  committed: 1,
  aborted: 1,
};

/** A handoff not heard of for this long is taken as over (its commit reached us as a view). */
const STALE_MS = 60_000;

/** Follows the progress events of one node. */
export class HandoffTracker {
  readonly #now: () => number;
  readonly #active = new Map<string, ActiveHandoff & { readonly seen: number }>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Feeds one progress event. */
  observe(e: Omit<HandoffProgressEvent, 'node'>): void {
    const key = `${e.handoff}\u0000${e.role}\u0000${e.table ?? ''}\u0000${e.peer ?? ''}`;
    if (e.phase === 'committed' || e.phase === 'aborted') {
      for (const k of [...this.#active.keys()])
        if (k.startsWith(`${e.handoff}\u0000`)) this.#active.delete(k);
      return;
    }
    const before = this.#active.get(key);
    const progress = Math.max(before?.progress ?? 0, PHASE_PROGRESS[e.phase] ?? 0);
    this.#active.set(key, {
      id: e.handoff,
      role: e.role,
      phase: e.phase,
      ...(e.table === undefined ? {} : { table: e.table }),
      ...(e.peer === undefined ? {} : { peer: e.peer }),
      entries: e.entries,
      bytes: e.bytes,
      durationMs: e.durationMs,
      progress,
      seen: this.#now(),
    });
  }

  /** Ends every handoff whose id a committed view lists (a source or target hears no `committed`). */
  committed(ids: readonly string[]): void {
    if (this.#active.size === 0) return;
    const done = new Set(ids);
    for (const [k, h] of this.#active) if (done.has(h.id)) this.#active.delete(k);
  }

  /** The handoffs in progress, oldest first. */
  active(): ActiveHandoff[] {
    const now = this.#now();
    const out: ActiveHandoff[] = [];
    for (const [k, h] of this.#active) {
      if (now - h.seen > STALE_MS) {
        this.#active.delete(k);
        continue;
      }
      const { seen: _seen, ...rest } = h;
      out.push(rest);
    }
    return out;
  }
}
