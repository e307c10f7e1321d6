/**
 * The rules a member checks before it adopts a view another member sent:
 * the epoch moves forward by a bounded step, and the sender is the leader
 * this node's view names (the smallest member it believes alive), or the
 * lawful successor that proposed exactly this view in a promise round this
 * node took part in. A view that fails them is refused with
 * `SC_ERR_FORBIDDEN` and the view is left unchanged. The sender id is the
 * one the transport authenticated, never a field of the view.
 */

import { SuperCacheError } from '@supercache/storage';
import type { NodeContext } from './node-context.js';
import type { View } from './view.js';
import { viewSig } from './view-ops.js';

/**
 * The largest epoch step a view may take over the one held: a member that
 * missed commits catches up by at most this many at once (more needs a
 * quorum of the view to hold the newer one, see `ClusterNode.syncView`).
 */
export const MAX_EPOCH_STEP = 1024;

/** The most views a member keeps as announced (promised or prepared) at once. */
const MAX_ANNOUNCED = 64;

/** A refusal of the control plane. */
export function forbidden(message: string, details?: Record<string, unknown>): SuperCacheError {
  return new SuperCacheError('SC_ERR_FORBIDDEN', message, details === undefined ? {} : { details });
}

/** The views announced to this node, and the checks of a view a peer sent. */
export class ViewGuard {
  readonly #ctx: NodeContext;
  /** Views announced to this node before their commit (promise or handoff prepare), by signature. */
  readonly #announced = new Map<string, { from: string; until: number }>();

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** Records that `from` announced `view` (it proposed it, or prepared a handoff leading to it). */
  announce(view: View, from: string): void {
    const now = this.#ctx.settings.clock.now();
    for (const [sig, a] of this.#announced) if (a.until <= now) this.#announced.delete(sig);
    while (this.#announced.size >= MAX_ANNOUNCED) {
      const oldest = this.#announced.keys().next().value as string;
      this.#announced.delete(oldest);
    }
    const s = this.#ctx.settings;
    const ttl = 2 * Math.max(s.failureTimeoutMs, s.handoffTimeoutMs);
    this.#announced.set(`${view.cluster}|${viewSig(view)}`, { from, until: now + ttl });
  }

  #announcedBy(view: View): string | undefined {
    const a = this.#announced.get(`${view.cluster}|${viewSig(view)}`);
    return a !== undefined && a.until > this.#ctx.settings.clock.now() ? a.from : undefined;
  }

  /**
   * Checks a newer view of this node's cluster sent by `from`.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when it does not follow from
   *   the view held (details: `reason`, `epoch`, `from`).
   */
  check(next: View, from: string): void {
    const ctx = this.#ctx;
    const cur = ctx.view;
    if (from === ctx.nodeId || cur.cluster === '') return; // its own view, or no view to check against
    const refuse = (reason: string, why: string) =>
      forbidden(`node ${ctx.nodeId} refuses view ${next.epoch} from ${from}: ${why}`, {
        reason,
        epoch: cur.epoch,
        from,
      });
    const step = next.epoch - cur.epoch;
    if (step > MAX_EPOCH_STEP || !Number.isSafeInteger(next.epoch + MAX_EPOCH_STEP)) {
      throw refuse('epoch', `the epoch jumps from ${cur.epoch} to ${next.epoch}`);
    }
    if (step === 1 && this.#announcedBy(next) === from) return;
    if (ctx.leader === from) return;
    throw refuse(
      'leader',
      `${from} is not the leader of epoch ${cur.epoch} (${ctx.leader ?? 'none'}) and did not propose this view`,
    );
  }

  /**
   * Checks a proposal (the promise round of a failure-driven removal) from
   * `from`: it leads to the next epoch, only removes members, removes every
   * member smaller than the proposer (the election rule: the smallest live
   * member leads), and every member it removes is silent here too.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` otherwise.
   */
  checkProposal(draft: View, from: string): void {
    const ctx = this.#ctx;
    const cur = ctx.view;
    if (from === ctx.nodeId) return;
    const refuse = (reason: string, why: string) =>
      forbidden(`node ${ctx.nodeId} refuses the proposal of view ${draft.epoch} from ${from}: ${why}`, {
        reason,
        epoch: cur.epoch,
        from,
      });
    if (cur.cluster === '' || draft.cluster !== cur.cluster || draft.epoch !== cur.epoch + 1) {
      throw refuse('epoch', `it does not follow epoch ${cur.epoch} of this node's view`);
    }
    if (!cur.members.includes(from)) throw refuse('leader', `${from} is not a member`);
    if (draft.members.some((m) => !cur.members.includes(m))) {
      throw refuse('members', 'a removal adds no member');
    }
    const removed = cur.members.filter((m) => !draft.members.includes(m));
    if (cur.members.some((m) => m < from && draft.members.includes(m))) {
      throw refuse('leader', `a member smaller than ${from} stays in the view`);
    }
    // Half the failure timeout: a live member is heard every heartbeat.
    const silentMs = ctx.settings.failureTimeoutMs / 2;
    for (const m of removed) {
      const since = ctx.detector.sinceSeen(m);
      if (m === ctx.nodeId || (since !== undefined && since < silentMs)) {
        throw refuse('members', `member ${m} is not silent here`);
      }
    }
  }
}
