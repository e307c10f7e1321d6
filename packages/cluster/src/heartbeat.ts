/**
 * Heartbeats and failure detection: pings every member (each on its own
 * schedule, so one slow peer delays no other), measures round trips, renews
 * the serving lease, heals members that missed a commit, and finds the other
 * side of a split (or a second cluster that formed at once) so the weaker
 * one dissolves into the stronger.
 */

import type { Body } from './fields.js';
import { isRecord } from './fields.js';
import type { NodeContext } from './node-context.js';
import { forbidden } from './view-guard.js';

/** What the heartbeat needs from the view coordinator. */
export interface HeartbeatHooks {
  /** True while a view change is in progress. */
  changing(): boolean;
  /** Called on the leader when members have been silent past the failure timeout. */
  suspect(dead: readonly string[]): void;
}

/** The body of a ping from the node of `ctx` (see {@link Heartbeat.pingBody}). */
export function pingBodyOf(ctx: NodeContext): Body {
  const v = ctx.view;
  return {
    id: ctx.nodeId,
    s: ctx.status,
    e: v.epoch,
    a: ctx.settings.address,
    c: v.cluster,
    n: v.members.length,
    l: v.members[0] ?? '',
  };
}

/** Heartbeat loop and split healing of one node. */
export class Heartbeat {
  readonly #ctx: NodeContext;
  readonly #hooks: HeartbeatHooks;
  readonly #pinging = new Set<string>();
  #beats = 0;
  #outsidersBusy = false;

  constructor(ctx: NodeContext, hooks: HeartbeatHooks) {
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  /** This node's cluster, as compared in a split: member count and leader id. */
  strength(): { c: string; n: number; l: string } {
    const v = this.#ctx.view;
    return { c: v.cluster, n: v.members.length, l: v.members[0] ?? '' };
  }

  /**
   * The body of a ping (and of its answer): the node it comes from (`id`,
   * checked against the authenticated sender), its lifecycle state (`s`),
   * epoch, address and strength.
   */
  pingBody(): Body {
    return pingBodyOf(this.#ctx);
  }

  /** One heartbeat tick: ping members not already being pinged, outsiders now and then, and suspect the silent. */
  tick(): void {
    const ctx = this.#ctx;
    if (ctx.stopped || ctx.status === 'joining') return;
    for (const m of ctx.view.members) {
      if (m === ctx.nodeId || this.#pinging.has(m)) continue;
      this.#pinging.add(m);
      void this.#ping(m).finally(() => this.#pinging.delete(m));
    }
    if (this.#beats++ % 4 === 0 && !this.#outsidersBusy) {
      this.#outsidersBusy = true;
      void this.#pingOutsiders().finally(() => {
        this.#outsidersBusy = false;
      });
    }
    if (ctx.leader === ctx.nodeId && ctx.status === 'running') {
      const dead = ctx.view.members.filter((m) => !ctx.detector.alive(m));
      if (dead.length > 0 && !this.#hooks.changing()) this.#hooks.suspect(dead);
    }
  }

  #timeoutMs(): number {
    const s = this.#ctx.settings;
    return Math.max(s.heartbeatMs, Math.floor(s.failureTimeoutMs / 2));
  }

  async #ping(m: string): Promise<void> {
    const ctx = this.#ctx;
    const view = ctx.view;
    const sentAt = ctx.settings.clock.now();
    const t0 = performance.now();
    ctx.counters.heartbeats++;
    let r: Body;
    try {
      r = (await ctx.settings.transport.call(m, 'sc.ping', this.pingBody(), {
        timeoutMs: this.#timeoutMs(),
        alone: true,
      })) as Body;
    } catch {
      ctx.counters.heartbeatFailures++;
      return;
    }
    // An answer counts only from the node it names (an address now serving another node does not).
    if (!isRecord(r) || r.id !== m) {
      ctx.counters.heartbeatFailures++;
      return;
    }
    ctx.detector.roundTrip(m, performance.now() - t0);
    const e = typeof r.e === 'number' ? r.e : 0;
    // Only an answer from the same view renews the lease: a peer that moved
    // on to a newer view (perhaps one without this node) does not vouch for it.
    if (r.c === view.cluster && e === view.epoch && ctx.view === view) ctx.lease.contact(m, e, sentAt);
    try {
      if (typeof r.c === 'string' && r.c !== '' && r.c !== ctx.view.cluster) {
        if (this.weakerThan(r)) await this.mergeInto(m, view.addresses[m] ?? m);
      } else if (e > ctx.view.epoch) await ctx.syncView(m, e);
      else if (e < ctx.view.epoch && ctx.view.members.includes(m)) {
        // Heal a member that missed a commit.
        await ctx.callNode(m, 'sc.viewCommit', { view: ctx.view });
      }
    } catch (err) {
      ctx.swallowed('heartbeat follow-up', err);
    }
  }

  async #pingOutsiders(): Promise<void> {
    const ctx = this.#ctx;
    await Promise.allSettled(
      ctx.peers.outsiders(ctx.view).map(async ([id, address]) => {
        const r = (await ctx.settings.transport.call(id, 'sc.ping', this.pingBody(), {
          timeoutMs: this.#timeoutMs(),
          alone: true,
        })) as Body;
        if (isRecord(r) && r.id === id && this.weakerThan(r)) await this.mergeInto(id, address);
      }),
    );
  }

  /**
   * Answers a ping from `from`.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when the ping names another node than its sender.
   */
  answer(b: Body, from: string): Body {
    const ctx = this.#ctx;
    if (b.id !== from) {
      throw forbidden(`node ${ctx.nodeId} refuses a heartbeat from ${from} naming ${String(b.id)}`, {
        from,
        named: typeof b.id === 'string' ? b.id : null,
      });
    }
    const e = typeof b.e === 'number' ? b.e : 0;
    const sameCluster = b.c === undefined || b.c === ctx.view.cluster;
    if (sameCluster && e > ctx.view.epoch) void ctx.syncView(from, e);
    const reply = this.pingBody();
    if (!sameCluster && this.weakerThan(b)) void this.mergeInto(from, typeof b.a === 'string' ? b.a : from);
    return reply;
  }

  /**
   * True when this node's cluster should dissolve into the other one: they
   * differ, and this one has fewer members (or as many and a larger leader id).
   */
  weakerThan(other: Body): boolean {
    if (this.#ctx.status !== 'running' || this.#hooks.changing()) return false;
    const c = other.c;
    const n = other.n;
    const l = other.l;
    if (typeof c !== 'string' || c === '' || typeof n !== 'number' || typeof l !== 'string' || n < 1)
      return false;
    const me = this.strength();
    if (me.c === '' || c === me.c) return false;
    return me.n < n || (me.n === n && me.l > l);
  }

  /**
   * Leaves a weaker cluster for a stronger one: drops this node's data
   * (writes made on the weaker side during the split are lost) and joins
   * through `peer`.
   */
  async mergeInto(peer: string, address: string): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.status !== 'running') return;
    ctx.setStatus('joining');
    ctx.resetForMerge();
    ctx.peers.discovered(peer, address);
    ctx.settings.transport.setPeerAddress(peer, address);
    try {
      await ctx.join();
    } catch (e) {
      ctx.swallowed('merge into the stronger cluster (retried on the next contact)', e);
    } finally {
      if (!ctx.stopped) ctx.setStatus('running');
    }
  }
}
