/**
 * A member's part in a handoff the leader drives: as a source it streams
 * the data that moves (snapshot, then deltas until quiet), holds it for the
 * final delta at the switch and tells the targets it is done; as a target it
 * stages what arrives until the handoff's view is committed (the tables
 * apply it then) or the handoff is aborted (dropped).
 *
 * Every handoff message is checked against the handoffs this node knows:
 * one is known from the leader's prepare (a source) or expect (a member new
 * in the next view), and only its leader may switch or abort it, only its
 * sources may stage data for it, and only for its epoch. At most
 * {@link MAX_KNOWN_HANDOFFS} are known at once; one that is neither
 * committed nor aborted in time is forgotten and what it staged dropped.
 */

import { SuperCacheError } from '@supercache/storage';
import { type ChunkItem, type DeltaItem, type DistributedTable, handoffSides } from './distributed-table.js';
import { type Body, int, isRecord, list, str } from './fields.js';
import type { NodeContext } from './node-context.js';
import { assertView, type View } from './view.js';
import { forbidden } from './view-guard.js';
import { checkChunkItems, checkDeltaItems } from './wire-check.js';

/** The most handoffs a node knows (prepared or expected) at once. */
export const MAX_KNOWN_HANDOFFS = 8;

/** A handoff this node was told of by its leader. */
interface KnownHandoff {
  readonly leader: string;
  /** Epoch of the view the handoff leads to (the `e` of its data). */
  readonly epoch: number;
  /** Members that may send data for it: the members of the view it starts from. */
  readonly sources: ReadonlySet<string>;
  /** Forgotten (and its staged data dropped) after this time, pushed on by every message. */
  until: number;
}

/** Source and target handlers of the handoff protocol on one node. */
export class HandoffParticipant {
  readonly #ctx: NodeContext;
  readonly #known = new Map<string, KnownHandoff>();

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** The table a request names. @throws SuperCacheError `SC_ERR_NO_TABLE` (retryable) */
  tableOf(body: Body): DistributedTable {
    const ctx = this.#ctx;
    const name = str(body, 't');
    const t = ctx.tables.get(name);
    if (t === undefined) {
      throw new SuperCacheError('SC_ERR_NO_TABLE', `node ${ctx.nodeId} has no table ${name}`, {
        retryable: true,
        details: { table: name, node: ctx.nodeId },
      });
    }
    return t;
  }

  #ttl(): number {
    return this.#ctx.settings.clock.now() + 2 * this.#ctx.settings.handoffTimeoutMs;
  }

  /**
   * Forgets handoffs whose view this node holds (committed; their data was
   * applied or dropped then) or that ran out of time, dropping what they
   * staged and ending their source side.
   */
  sweep(): void {
    const ctx = this.#ctx;
    const now = ctx.settings.clock.now();
    for (const [h, k] of this.#known) {
      if (k.epoch <= ctx.view.epoch) {
        this.#known.delete(h);
        continue;
      }
      if (k.until > now) continue;
      this.#known.delete(h);
      this.#drop(h);
    }
  }

  /** Ends the source side of `h` and drops what it staged; true when anything was there. */
  #drop(h: string): boolean {
    let touched = false;
    for (const t of this.#ctx.tables.values()) {
      if (handoffSides(t).source.hid === h) {
        handoffSides(t).source.abort();
        touched = true;
      }
      if (handoffSides(t).target.stagedCounts(h) !== undefined) {
        handoffSides(t).target.discard(h);
        touched = true;
      }
    }
    return touched;
  }

  /** Records a handoff the leader announced, leading from `prev` to `next`. */
  #learn(h: string, from: string, prev: View, next: View): void {
    const ctx = this.#ctx;
    if (next.epoch !== prev.epoch + 1 || next.cluster !== prev.cluster || !next.handoffs.includes(h)) {
      throw forbidden(`handoff ${h} from ${from} does not lead from one view to the next`, { h, from });
    }
    this.sweep();
    if (!this.#known.has(h) && this.#known.size >= MAX_KNOWN_HANDOFFS) {
      throw new SuperCacheError(
        'SC_ERR_LIMIT',
        `node ${ctx.nodeId} already takes part in ${this.#known.size} handoffs`,
        {
          retryable: true,
        },
      );
    }
    this.#known.set(h, {
      leader: from,
      epoch: next.epoch,
      sources: new Set(prev.members),
      until: this.#ttl(),
    });
    ctx.guard.announce(next, from);
  }

  /**
   * The handoff `h`, when `from` may send `what` for it.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` for an unknown handoff or a sender that is not in it.
   */
  #knownFor(h: string, from: string, what: 'leader' | 'source'): KnownHandoff {
    const k = this.#known.get(h);
    const ok = k !== undefined && (what === 'leader' ? k.leader === from : k.sources.has(from));
    if (!ok || k === undefined) {
      throw forbidden(
        `node ${this.#ctx.nodeId} knows no handoff ${h} ${what === 'leader' ? 'led' : 'sourced'} by ${from}`,
        { h, from },
      );
    }
    k.until = this.#ttl();
    return k;
  }

  /**
   * `sc.handoffExpect`: the leader tells every member of `next`, before any
   * source streams, that the members of `prev` will send it data for `h`.
   * A node that holds a view takes it only from its leader (after adopting
   * `prev` from it, when behind); a node joining (no view, or not a member
   * of its own) from the leader it asked to join.
   */
  expect(body: Body, from: string): boolean {
    const ctx = this.#ctx;
    const h = str(body, 'h');
    const prev = assertView(body.prev);
    const next = assertView(body.next);
    let cur = ctx.view;
    const joining = cur.cluster === '' || !cur.members.includes(ctx.nodeId);
    if (!joining) {
      // A member behind the leader catches up first, as a prepare would.
      ctx.adoptFrom(prev, from);
      cur = ctx.view;
    }
    if (!next.members.includes(ctx.nodeId) || !(joining || ctx.leader === from) || next.epoch <= cur.epoch) {
      throw forbidden(`node ${ctx.nodeId} does not expect handoff ${h} from ${from}`, { h, from });
    }
    this.#learn(h, from, prev, next);
    return true;
  }

  /** `sc.handoffPrepare`: plans what moves, streams the snapshot, then deltas until quiet. */
  async prepare(body: Body, from: string): Promise<Body> {
    const ctx = this.#ctx;
    const h = str(body, 'h');
    const prev = assertView(body.prev);
    const next = assertView(body.next);
    ctx.adoptFrom(prev, from);
    if (
      ctx.view.epoch === prev.epoch &&
      ctx.view.cluster === prev.cluster &&
      ctx.leader !== from &&
      from !== ctx.nodeId
    ) {
      throw forbidden(`handoff ${h} prepared by ${from}, which does not lead epoch ${prev.epoch}`, {
        h,
        from,
      });
    }
    if (ctx.view.epoch !== prev.epoch || ctx.view.cluster !== prev.cluster) {
      // This node follows another leader's view: refuse to hand data over under this one.
      throw new SuperCacheError(
        'SC_ERR_STALE_EPOCH',
        `handoff ${h} prepared at epoch ${prev.epoch}, node ${ctx.nodeId} is at epoch ${ctx.view.epoch}`,
        { retryable: true, details: { view: ctx.view } },
      );
    }
    // The targets of this handoff may be members this node has never heard
    // of (a joiner): learn their addresses before streaming to them.
    for (const m of next.members) {
      if (m !== ctx.nodeId) ctx.settings.transport.setPeerAddress(m, next.addresses[m] ?? m);
    }
    this.#learn(h, from, prev, next);
    const clock = ctx.settings.clock;
    const started = clock.now();
    const moving: DistributedTable[] = [];
    for (const t of ctx.tables.values()) if (handoffSides(t).source.plan(h, prev, next)) moving.push(t);
    if (moving.length === 0) return { entries: 0, bytes: 0 };
    const report = (phase: 'snapshot' | 'delta') => {
      const { entries, bytes } = sourceTotals(moving);
      ctx.progress({ handoff: h, role: 'source', phase, entries, bytes, durationMs: clock.now() - started });
      return { entries, bytes };
    };
    ctx.progress({ handoff: h, role: 'source', phase: 'start', entries: 0, bytes: 0, durationMs: 0 });
    // Pass 1: snapshot, streamed while the tables keep serving.
    for (const t of moving) await handoffSides(t).source.streamSnapshot(h);
    report('snapshot');
    // Pass 2: re-send what changed meanwhile, until it is quiet.
    for (let round = 0; round < 8; round++) {
      let pending = 0;
      for (const t of moving) pending += handoffSides(t).source.pendingDelta();
      if (pending === 0) break;
      for (const t of moving) await handoffSides(t).source.sendDelta(h);
      if (pending < 32) break;
    }
    return report('delta');
  }

  /** `sc.handoffSwitch`: holds the moving data, sends the final delta, tells the targets. */
  async switch(body: Body, from: string): Promise<Body> {
    const ctx = this.#ctx;
    const h = str(body, 'h');
    this.#knownFor(h, from, 'leader');
    const moving = [...ctx.tables.values()].filter((t) => handoffSides(t).source.hid === h);
    if (moving.length === 0) return { entries: 0, bytes: 0 };
    const targets = new Set<string>();
    for (const t of moving)
      for (const target of await handoffSides(t).source.holdAndFinish(h)) targets.add(target);
    await Promise.all(
      [...targets].map((target) => {
        // Which partitions each table hands this target whole, with their replication sequence.
        const moved: Record<string, Record<string, number>> = {};
        for (const t of moving) {
          const m = handoffSides(t).source.movedTo(h, target);
          if (m !== undefined && Object.keys(m).length > 0) moved[t.name] = m;
        }
        return ctx.callNode(target, 'sc.handoffDone', { h, from: ctx.nodeId, moved });
      }),
    );
    const { entries, bytes } = sourceTotals(moving);
    ctx.progress({ handoff: h, role: 'source', phase: 'switch', entries, bytes, durationMs: 0 });
    return { entries, bytes };
  }

  /**
   * `sc.handoffAbort`: ends the source side and drops what was staged. An
   * unknown handoff has nothing to drop.
   * @throws SuperCacheError `SC_ERR_FORBIDDEN` when `from` does not lead the handoff.
   */
  abort(body: Body, from: string): boolean {
    const ctx = this.#ctx;
    const h = str(body, 'h');
    if (!this.#known.has(h)) return true;
    this.#knownFor(h, from, 'leader');
    this.#known.delete(h);
    const touched = this.#drop(h);
    if (touched) {
      ctx.counters.handoffsAborted++;
      ctx.progress({ handoff: h, role: 'source', phase: 'aborted', entries: 0, bytes: 0, durationMs: 0 });
    }
    return true;
  }

  /** `sc.handoffChunk` / `sc.handoffDelta`: stages incoming data. */
  stage(body: Body, from: string, delta: boolean): number {
    const ctx = this.#ctx;
    const t = this.tableOf(body);
    const h = str(body, 'h');
    const e = int(body, 'e');
    const items = list<unknown>(body, 'items');
    // Every item is checked before any is staged: a bad one stages nothing
    // (and is a 400 whoever sent it); then the sender, for a known handoff.
    const shape = { keyPos: t.spec.keyPos, shards: t.shards.shardCount };
    if (delta) checkDeltaItems(items, shape, ctx.settings.hlc);
    else checkChunkItems(items, shape, ctx.settings.hlc);
    const k = this.#knownFor(h, from, 'source');
    if (e !== k.epoch) {
      throw new SuperCacheError('SC_ERR_STALE_EPOCH', `handoff ${h} leads to epoch ${k.epoch}, not ${e}`, {
        details: { h, epoch: k.epoch },
      });
    }
    const n = delta
      ? handoffSides(t).target.stageDelta(h, e, items as DeltaItem[])
      : handoffSides(t).target.stageChunk(h, e, items as ChunkItem[]);
    let staged = 0;
    for (const other of ctx.tables.values()) staged += handoffSides(other).target.stagedCounts(h)?.bytes ?? 0;
    if (staged > ctx.settings.maxStagedBytes) {
      this.#known.delete(h);
      this.#drop(h);
      throw new SuperCacheError(
        'SC_ERR_LIMIT',
        `handoff ${h} staged ${staged} bytes on node ${ctx.nodeId}, over maxStagedBytes (${ctx.settings.maxStagedBytes}); dropped`,
        { details: { h, bytes: staged, limit: ctx.settings.maxStagedBytes } },
      );
    }
    const c = handoffSides(t).target.stagedCounts(h);
    ctx.progress({
      handoff: h,
      role: 'target',
      phase: 'staged',
      table: t.name,
      peer: from,
      entries: n,
      bytes: c?.bytes ?? 0,
      durationMs: c === undefined ? 0 : ctx.settings.clock.now() - c.started,
    });
    return n;
  }

  /** `sc.handoffDone`: a source finished streaming to this node. */
  done(body: Body, from: string): boolean {
    const ctx = this.#ctx;
    const h = str(body, 'h');
    this.#knownFor(h, from, 'source');
    if (body.moved !== undefined) {
      if (!isRecord(body.moved)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'field moved must be a map');
      for (const [name, m] of Object.entries(body.moved)) {
        const t = ctx.tables.get(name);
        if (t === undefined || !isRecord(m)) {
          throw new SuperCacheError('SC_ERR_BAD_REQUEST', `bad moved partitions for table ${name}`);
        }
        handoffSides(t).target.stageMoved(h, m);
      }
    }
    let entries = 0;
    let bytes = 0;
    for (const t of ctx.tables.values()) {
      const c = handoffSides(t).target.stagedCounts(h);
      if (c !== undefined) {
        entries += c.entries;
        bytes += c.bytes;
      }
    }
    ctx.progress({ handoff: h, role: 'target', phase: 'staged', peer: from, entries, bytes, durationMs: 0 });
    return true;
  }
}

function sourceTotals(tables: readonly DistributedTable[]): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const t of tables) {
    const c = handoffSides(t).source.counts();
    entries += c.entries;
    bytes += c.bytes;
  }
  return { entries, bytes };
}
