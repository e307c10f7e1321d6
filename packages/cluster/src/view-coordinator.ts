/**
 * View changes. The leader (the smallest live member) serialises every
 * change of the view, one at a time: a join or a graceful leave hands data
 * over first (prepare → switch → commit, see `docs/guides/distributed.md`),
 * the removal of a dead member goes through a promise round with a quorum
 * of the view so that two sides of a split cannot both commit. Every member
 * also keeps the promises it made, which {@link ViewCoordinator.refuses}
 * checks before a view is adopted.
 */

import { SuperCacheError } from '@supercache/storage';
import { type Body, int, isRecord, str } from './fields.js';
import { pingBodyOf } from './heartbeat.js';
import type { NodeContext } from './node-context.js';
import {
  assertView,
  type ClusterConfig,
  checkConfig,
  checkTableSpec,
  DEFAULT_CONFIG,
  hostsOf,
  MAX_HANDOFF_HISTORY,
  normalizeView,
  sameHosting,
  type TableSpec,
  type View,
} from './view.js';
import { forbidden } from './view-guard.js';
import { isQuorum, type TableJoin, viewSig, withMember, without } from './view-ops.js';

/** The leader's side of view changes, and every member's promises. */
export class ViewCoordinator {
  readonly #ctx: NodeContext;
  #queue: Promise<unknown> = Promise.resolve();
  #changing = false;
  /** A promise not to adopt another view at that epoch (failure-driven view changes). */
  #promised: { epoch: number; sig: string; until: number } | undefined;

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** True while this node runs a view change as leader. */
  get changing(): boolean {
    return this.#changing;
  }

  /** True when this node promised another view for `view`'s epoch (and the promise still stands). */
  refuses(view: View): boolean {
    const p = this.#promised;
    return (
      p !== undefined &&
      p.epoch === view.epoch &&
      p.sig !== viewSig(view) &&
      p.until > this.#ctx.settings.clock.now()
    );
  }

  #isLeader(): boolean {
    const ctx = this.#ctx;
    return ctx.leader === ctx.nodeId && (ctx.status === 'running' || ctx.status === 'leaving');
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#changing = true;
      try {
        return await fn();
      } finally {
        this.#changing = false;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  // ---------------------------------------------------------------------------
  // Failure-driven removal

  /** Queues the removal of members silent past the failure timeout (leader only). */
  suspect(dead: readonly string[]): void {
    if (!this.#hasQuorum(dead)) return;
    this.#enqueue(() => this.#removeDead(dead)).catch((e: unknown) => this.#ctx.swallowed('remove dead', e));
  }

  /**
   * True when the members left after removing `dead` may decide alone: a
   * strict majority of the view, or exactly half including its smallest id.
   * A minority (an isolated node) never removes the others, so a network
   * split cannot fork the view; it rejoins when the split heals.
   */
  #hasQuorum(dead: readonly string[]): boolean {
    const members = this.#ctx.view.members;
    return isQuorum(
      members,
      members.filter((m) => !dead.includes(m)),
    );
  }

  /** Records a promise for `view`; false when another view holds that epoch. */
  promise(view: View): boolean {
    const ctx = this.#ctx;
    const now = ctx.settings.clock.now();
    const sig = viewSig(view);
    const p = this.#promised;
    if (view.epoch <= ctx.view.epoch) return false;
    if (ctx.view.cluster !== '' && view.cluster !== ctx.view.cluster) return false;
    if (p !== undefined && p.epoch >= view.epoch && p.sig !== sig && p.until > now) return false;
    this.#promised = { epoch: view.epoch, sig, until: now + ctx.settings.failureTimeoutMs };
    return true;
  }

  async #removeDead(candidates: readonly string[]): Promise<View> {
    const ctx = this.#ctx;
    const dead = candidates.filter((m) => ctx.view.members.includes(m) && !ctx.detector.alive(m));
    if (dead.length === 0 || !this.#hasQuorum(dead)) return ctx.view;
    // Two phases, so that two would-be leaders on either side of a network
    // split cannot both commit: a quorum of the current members must promise
    // this view before anyone adopts it.
    const prev = ctx.view;
    const draft = normalizeView({ ...without(prev, dead), epoch: prev.epoch + 1, handoffs: prev.handoffs });
    if (!this.promise(draft)) return prev;
    const others = draft.members.filter((m) => m !== ctx.nodeId);
    const answers = await Promise.allSettled(
      others.map((m) => ctx.callNode(m, 'sc.viewPropose', { view: draft }) as Promise<Body>),
    );
    const promised = [ctx.nodeId];
    const seqs = new Map<string, Record<string, unknown>>();
    seqs.set(ctx.nodeId, this.#ownSeqs());
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && isRecord(a.value) && a.value.ok === true) {
        promised.push(others[i] as string);
        if (isRecord(a.value.seqs)) seqs.set(others[i] as string, a.value.seqs);
      }
    });
    if (!isQuorum(prev.members, promised) || ctx.view !== prev) return ctx.view;
    const next = this.#promote(prev, draft, dead, seqs);
    if (next !== draft && !this.promise(next)) return ctx.view;
    ctx.counters.viewChanges++;
    await this.#commit(prev, next, dead);
    return next;
  }

  #ownSeqs(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const t of this.#ctx.tables.values())
      if (t.replicator !== undefined) out[t.name] = t.replicator.copySeqs();
    return out;
  }

  /**
   * For every replicated partition whose primary died, promotes the
   * surviving copy that applied the highest sequence (ties go to the
   * ranking), recorded in `next.promoted`. Survivors of the old replica set
   * are all in the new one: removing hosts only moves the others up.
   */
  #promote(
    prev: View,
    draft: View,
    dead: readonly string[],
    seqs: ReadonlyMap<string, Record<string, unknown>>,
  ): View {
    const promoted: Record<string, Record<string, string>> = {};
    for (const [name, cur] of Object.entries(draft.promoted ?? {})) promoted[name] = { ...cur };
    let changed = false;
    for (const t of this.#ctx.tables.values()) {
      if (t.replicator === undefined) continue;
      const n = t.spec.numPartitions;
      for (let p = 0; p < n; p++) {
        const before = t.replicasOf(p, prev);
        if (before.length === 0 || !dead.includes(before[0] as string)) continue;
        const after = t.replicasOf(p, draft);
        let best: string | undefined;
        let bestSeq = -1;
        for (const m of after) {
          if (!before.includes(m)) continue;
          const s = (seqs.get(m)?.[t.name] as Record<string, unknown> | undefined)?.[p];
          if (typeof s === 'number' && s > bestSeq) {
            best = m;
            bestSeq = s;
          }
        }
        if (best === undefined || best === after[0]) continue;
        const per = promoted[t.name] ?? {};
        per[p] = best;
        promoted[t.name] = per;
        changed = true;
      }
    }
    return changed ? normalizeView({ ...draft, promoted }) : draft;
  }

  // ---------------------------------------------------------------------------
  // Leader: handoff-driven changes

  /**
   * Commits `build(view)` as the next view. With `handoff`, every table whose
   * hosting changes is handed over first (prepare → switch → commit); a
   * failure aborts it everywhere and throws `SC_ERR_HANDOFF` (retryable).
   */
  async #changeView(build: (v: View) => View, handoff: boolean, skip: readonly string[] = []): Promise<View> {
    const ctx = this.#ctx;
    const prev = ctx.view;
    const epoch = prev.epoch + 1;
    const draft = normalizeView({ ...build(prev), epoch, handoffs: prev.handoffs });
    const tables = new Set([...Object.keys(prev.shards), ...Object.keys(draft.shards)]);
    const moves =
      handoff && [...tables].some((t) => hostsOf(prev, t).length > 0 && !sameHosting(prev, draft, t));
    ctx.counters.viewChanges++;
    if (!moves) {
      await this.#commit(prev, draft, skip);
      return draft;
    }
    const hid = `${ctx.nodeId}-${epoch}-${Math.floor(Math.random() * 0xffffffff).toString(16)}`;
    const next: View = { ...draft, handoffs: [...prev.handoffs, hid].slice(-MAX_HANDOFF_HISTORY) };
    const sources = prev.members.filter((m) => !skip.includes(m));
    const clock = ctx.settings.clock;
    const timeoutMs = ctx.settings.handoffTimeoutMs;
    const started = clock.now();
    ctx.progress({ handoff: hid, role: 'leader', phase: 'start', entries: 0, bytes: 0, durationMs: 0 });
    let entries = 0;
    let bytes = 0;
    // Every member of `next` learns which handoff comes, from whom, before
    // any source streams: a source prepared first must not send to a member
    // whose own prepare has not arrived yet (its chunks would be refused).
    const newcomers = next.members.filter((m) => !sources.includes(m) && m !== ctx.nodeId);
    for (const m of newcomers) ctx.settings.transport.setPeerAddress(m, next.addresses[m] ?? m);
    const receivers = next.members.filter((m) => !skip.includes(m));
    try {
      await Promise.all(
        receivers.map((m) => ctx.callNode(m, 'sc.handoffExpect', { h: hid, prev, next }, timeoutMs)),
      );
      await Promise.all(
        sources.map((s) => ctx.callNode(s, 'sc.handoffPrepare', { h: hid, prev, next }, timeoutMs)),
      );
      const switched = await Promise.all(
        sources.map((s) => ctx.callNode(s, 'sc.handoffSwitch', { h: hid }, timeoutMs) as Promise<Body>),
      );
      for (const r of switched) {
        entries += typeof r.entries === 'number' ? r.entries : 0;
        bytes += typeof r.bytes === 'number' ? r.bytes : 0;
      }
    } catch (e) {
      const everyone = [...new Set([...prev.members, ...next.members])].filter((m) => !skip.includes(m));
      await Promise.allSettled(everyone.map((m) => ctx.callNode(m, 'sc.handoffAbort', { h: hid })));
      ctx.counters.handoffsAborted++;
      const message = e instanceof Error ? e.message : String(e);
      ctx.progress({
        handoff: hid,
        role: 'leader',
        phase: 'aborted',
        entries,
        bytes,
        durationMs: clock.now() - started,
        error: message,
      });
      throw new SuperCacheError('SC_ERR_HANDOFF', `handoff ${hid} aborted: ${message}`, {
        retryable: true,
        cause: e,
      });
    }
    await this.#commit(prev, next, skip);
    const durationMs = clock.now() - started;
    ctx.counters.handoffs++;
    ctx.counters.lastHandoffMs = durationMs;
    ctx.counters.lastHandoffEntries = entries;
    ctx.progress({ handoff: hid, role: 'leader', phase: 'committed', entries, bytes, durationMs });
    return next;
  }

  /** Adopts `next` here and sends it to every member of both views (best effort). */
  async #commit(prev: View, next: View, skip: readonly string[]): Promise<void> {
    const ctx = this.#ctx;
    ctx.adoptView(next);
    const targets = [...new Set([...prev.members, ...next.members])].filter(
      (m) => m !== ctx.nodeId && !skip.includes(m),
    );
    await Promise.allSettled(targets.map((m) => ctx.callNode(m, 'sc.viewCommit', { view: next })));
  }

  /** Forwards a membership request to the leader when this node is not it. */
  async #forward(method: string, body: Body): Promise<unknown> {
    const ctx = this.#ctx;
    const hops = typeof body.hops === 'number' ? body.hops : 0;
    const leader = ctx.leader;
    if (leader === undefined || leader === ctx.nodeId || hops >= 4 || ctx.status === 'joining') {
      throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${ctx.nodeId} cannot serve ${method} now`, {
        retryable: true,
      });
    }
    return ctx.settings.transport.call(
      leader,
      method,
      { ...body, hops: hops + 1 },
      { timeoutMs: ctx.settings.handoffTimeoutMs, alone: true },
    );
  }

  #checkTables(id: string, tables: Record<string, TableJoin>): void {
    for (const [name, j] of Object.entries(tables)) {
      if (!isRecord(j) || !isRecord(j.spec) || typeof j.shards !== 'number') {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', `bad table registration for ${name}`);
      }
      const known = this.#ctx.view.tables[name] ?? this.#ctx.tables.get(name)?.spec;
      if (known !== undefined) checkTableSpec(name, j.spec, known, id);
    }
  }

  /** `sc.join`: adds a member, handing it its share of every table first. */
  async handleJoin(body: Body): Promise<View> {
    const ctx = this.#ctx;
    const id = str(body, 'id');
    const address = str(body, 'address');
    if (!isRecord(body.config)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'field config must be a map');
    const tables = (isRecord(body.tables) ? body.tables : {}) as Record<string, TableJoin>;
    if (!this.#isLeader()) return assertView(await this.#forward('sc.join', body));
    checkConfig({ ...DEFAULT_CONFIG, ...(body.config as Partial<ClusterConfig>) }, ctx.settings.config, id);
    this.#checkTables(id, tables);
    await this.#checkJoiner(id, address);
    return this.#enqueue(async () => {
      this.#checkTables(id, tables);
      if (ctx.view.members.includes(id)) {
        // A restarted node: its previous incarnation's data is gone.
        await this.#changeView((v) => without(v, [id]), false, [id]);
      }
      ctx.detector.heard(id);
      return this.#changeView((v) => withMember(v, id, address, tables), true);
    });
  }

  /**
   * Calls `address` back and checks that the node answering there is `id`,
   * joining: a join cannot claim another node's address, nor restart a
   * member that is running.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when another node (or a running one) answers.
   */
  async #checkJoiner(id: string, address: string): Promise<void> {
    const ctx = this.#ctx;
    if (id === ctx.nodeId) throw forbidden(`node ${id} is the leader itself`, { id, address });
    // A peer id of its own, so the address of a member of that id is not replaced while checking.
    const probe = `${id}?join`;
    ctx.settings.transport.setPeerAddress(probe, address);
    const r = (await ctx.settings.transport.call(probe, 'sc.ping', pingBodyOf(ctx), {
      timeoutMs: ctx.settings.callTimeoutMs,
      alone: true,
    })) as Body;
    if (!isRecord(r) || r.id !== id || r.s !== 'joining') {
      throw forbidden(
        `join of ${id} refused: the node at ${address} is ${isRecord(r) ? String(r.id) : 'unknown'}` +
          ` (${isRecord(r) ? String(r.s) : 'no answer'}), not ${id} joining`,
        { id, address, answered: isRecord(r) && typeof r.id === 'string' ? r.id : null },
      );
    }
  }

  /**
   * `sc.leave`: removes a member after handing its data over. Sent by the
   * member itself (or forwarded); the leader checks that the member is
   * leaving when another node asks.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when the member is not leaving.
   */
  async handleLeave(body: Body, from: string): Promise<View> {
    const ctx = this.#ctx;
    const id = str(body, 'id');
    if (!this.#isLeader()) return assertView(await this.#forward('sc.leave', body));
    if (from !== id && id !== ctx.nodeId && ctx.view.members.includes(id)) {
      const r = (await ctx.callNode(id, 'sc.ping', pingBodyOf(ctx))) as Body;
      if (!isRecord(r) || r.id !== id || r.s !== 'leaving') {
        throw forbidden(`leave of ${id} asked by ${from} refused: ${id} is not leaving`, { id, from });
      }
    }
    return this.#enqueue(async () => {
      if (!ctx.view.members.includes(id)) return ctx.view;
      return this.#changeView((v) => without(v, [id]), true);
    });
  }

  /** `sc.tableJoin`: makes a member a host of one more table. */
  async handleTableJoin(body: Body): Promise<View> {
    const ctx = this.#ctx;
    const id = str(body, 'id');
    const table = str(body, 'table');
    if (!isRecord(body.spec)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'field spec must be a map');
    const join: TableJoin = { spec: body.spec as unknown as TableSpec, shards: int(body, 'shards') };
    if (!this.#isLeader()) return assertView(await this.#forward('sc.tableJoin', body));
    this.#checkTables(id, { [table]: join });
    return this.#enqueue(async () => {
      this.#checkTables(id, { [table]: join });
      if (!ctx.view.members.includes(id)) {
        throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${id} is not a member`, { retryable: true });
      }
      if (hostsOf(ctx.view, table).includes(id)) return ctx.view;
      return this.#changeView((v) => withMember(v, id, v.addresses[id] ?? id, { [table]: join }), true);
    });
  }
}
