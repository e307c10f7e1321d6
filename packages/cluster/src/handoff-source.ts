/**
 * The source side of a handoff for one table on one node: plans what moves
 * for a view change, streams it to the new owners in two passes (snapshot,
 * then the keys touched meanwhile), holds commands on moving data for the
 * switch, and tells the table which commands must wait. Owned by a
 * {@link DistributedTable}; reached by the node's handoff participant, never
 * through the table's public API.
 */

import { keyOf, type MapKey, type Term } from '@supercache/storage';
import {
  type ChunkItem,
  type DeltaItem,
  entryBytes,
  type HandoffTableAccess,
  type WireEntry,
  wire,
} from './handoff-wire.js';
import type { Owner, Routing } from './placement.js';
import type { View } from './view.js';
import { sameHosting } from './view.js';

/** Snapshot chunks a handoff source keeps in flight at once. */
const SNAPSHOT_IN_FLIGHT = 4;

interface SourceState {
  readonly hid: string;
  readonly next: Routing;
  /** Whole partitions moving, with the copies that must receive them; undefined when keys move one by one. */
  readonly moving: Map<number, readonly string[]> | undefined;
  /** Keys changed on moving data since the last pass, per local shard. */
  touched: Map<number, Map<MapKey, Term>>;
  /** `'shards'`: where each key's objects were sent, per local shard. */
  readonly sentTo: Map<number, Map<MapKey, Array<[node: string, shard: number]>>>;
  readonly targets: Set<string>;
  holding: boolean;
  released: Promise<void>;
  release: () => void;
  holdTimer: ReturnType<typeof setTimeout> | undefined;
  readonly started: number;
  entries: number;
  bytes: number;
}

/** The source side of one table's handoffs. */
export class HandoffSource {
  readonly #t: HandoffTableAccess;
  #source: SourceState | undefined;

  constructor(table: HandoffTableAccess) {
    this.#t = table;
  }

  /** True while commands must record the keys they touch (a handoff is streaming). */
  get tracking(): boolean {
    return this.#source !== undefined;
  }

  /** Records that a command changed `key` in local shard `i` (for the delta pass). */
  touched(i: number, key: Term): void {
    const s = this.#source;
    if (s === undefined) return;
    if (s.moving !== undefined && !s.moving.has(i)) return;
    let m = s.touched.get(i);
    if (m === undefined) s.touched.set(i, (m = new Map()));
    m.set(keyOf(key), key);
  }

  /** The promise a command on this data must wait for, when the data is held for a handoff switch. */
  gate(shard: number, pd: Term): Promise<void> | undefined {
    const s = this.#source;
    if (s === undefined || !s.holding) return undefined;
    if (s.moving !== undefined) return s.moving.has(shard) ? s.released : undefined;
    let o: Owner;
    try {
      o = this.#t.ownerIn(s.next, pd);
    } catch {
      return s.released;
    }
    return o.node !== this.#t.host.nodeId || o.shard !== shard ? s.released : undefined;
  }

  /** The epoch of the view the current handoff leads to, if any. */
  get nextEpoch(): number | undefined {
    return this.#source?.next.epoch;
  }

  /** Resolves when held commands may go on (the handoff ended). */
  get released(): Promise<void> | undefined {
    return this.#source?.released;
  }

  /** True while commands on moving data are held for the switch. */
  get holding(): boolean {
    return this.#source?.holding === true;
  }

  /**
   * Plans the data this node must hand over for the change `prev → next`
   * and starts tracking changes to it. Returns false when nothing moves.
   */
  plan(hid: string, prev: View, next: View): boolean {
    this.abort();
    const self = this.#t.host.nodeId;
    const before = this.#t.routingFor(prev);
    if (!before.hosts.includes(self)) return false;
    if (sameHosting(prev, next, this.#t.name)) return false;
    const after = this.#t.placement.routing(next);
    if (after.hosts.length === 0) return false; // the last host leaves: nothing can receive the data
    const moving = this.#t.placement.moving(before, after, self);
    if (moving !== undefined && moving.size === 0) return false;
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    this.#source = {
      hid,
      next: after,
      moving,
      touched: new Map(),
      sentTo: new Map(),
      targets: new Set(),
      holding: false,
      released,
      release,
      holdTimer: undefined,
      started: this.#t.host.clock.now(),
      entries: 0,
      bytes: 0,
    };
    return true;
  }

  /** True while this table hands data over. */
  get active(): boolean {
    return this.#source !== undefined;
  }

  async #flush(
    s: SourceState,
    target: string,
    method: string,
    items: unknown[],
    entries: number,
  ): Promise<void> {
    if (items.length === 0) return;
    s.targets.add(target);
    await this.#t.host.callNode(
      target,
      method,
      { h: s.hid, t: this.#t.name, e: s.next.epoch, from: this.#t.host.nodeId, items },
      this.#t.host.callTimeoutMs,
    );
    this.#t.host.counters.handoffEntriesSent += entries;
    this.#t.host.progress({
      handoff: s.hid,
      role: 'source',
      phase: method === 'sc.handoffChunk' ? 'snapshot' : 'delta',
      table: this.#t.name,
      peer: target,
      entries: s.entries,
      bytes: s.bytes,
      durationMs: this.#t.host.clock.now() - s.started,
    });
  }

  /** Pass 1: streams every moving entry to its new owner in chunks; the table keeps serving. */
  async streamSnapshot(hid: string): Promise<void> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return;
    const chunk = this.#t.host.handoffChunkSize;
    const buffers = new Map<string, ChunkItem[]>();
    // Chunks are pipelined: up to SNAPSHOT_IN_FLIGHT travel at once, so the
    // next chunk is built while earlier ones cross the network. Staging
    // merges by version, so their arrival order does not matter; all of
    // them settle before this method returns (and before the delta pass).
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const send = (target: string, b: ChunkItem[]): void => {
      const f: Promise<void> = this.#flush(s, target, 'sc.handoffChunk', b, b.length).then(
        () => {
          inFlight.delete(f);
        },
        (e: unknown) => {
          inFlight.delete(f);
          failure ??= e;
        },
      );
      inFlight.add(f);
    };
    // True when a chunk left and the caller must wait for room (see `room`):
    // an entry that fills no chunk costs no promise.
    const push = (target: string, item: ChunkItem): boolean => {
      let b = buffers.get(target);
      if (b === undefined) buffers.set(target, (b = []));
      b.push(item);
      s.entries++;
      s.bytes += entryBytes(item[1]);
      if (b.length < chunk) return false;
      buffers.set(target, []);
      send(target, b);
      return true;
    };
    const room = async (): Promise<void> => {
      while (inFlight.size >= SNAPSHOT_IN_FLIGHT) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
    };
    const self = this.#t.host.nodeId;
    if (s.moving !== undefined) {
      for (const [p, targets] of s.moving) {
        for (const e of this.#t.shards.table(p).entries()) {
          if (this.#source !== s) return;
          for (const target of targets) {
            if (push(target, [p, e.obj, e.expiresAt, e.version ?? null])) await room();
          }
        }
      }
    } else {
      const pp = this.#t.spec.partitionPos;
      const kp = this.#t.spec.keyPos;
      for (let i = 0; i < this.#t.shards.shardCount; i++) {
        for (const e of this.#t.shards.table(i).entries()) {
          if (this.#source !== s) return;
          const o = this.#t.ownerIn(s.next, e.obj[pp] as Term);
          if (o.node === self && o.shard === i) continue;
          this.#recordSent(s, i, e.obj[kp] as Term, o);
          if (push(o.node, [o.shard, e.obj, e.expiresAt, e.version ?? null])) await room();
        }
      }
    }
    for (const [target, b] of buffers) if (b.length > 0) send(target, b);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  }

  #recordSent(s: SourceState, shard: number, key: Term, o: Owner): void {
    let m = s.sentTo.get(shard);
    if (m === undefined) s.sentTo.set(shard, (m = new Map()));
    const k = keyOf(key);
    const list = m.get(k);
    if (list === undefined) m.set(k, [[o.node, o.shard]]);
    else if (!list.some(([n, sh]) => n === o.node && sh === o.shard)) list.push([o.node, o.shard]);
  }

  /**
   * Pass 2: re-sends the current objects of every key changed since the last
   * pass (`[]` for a deleted key). Returns how many keys were sent.
   */
  async sendDelta(hid: string): Promise<number> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return 0;
    const touched = s.touched;
    s.touched = new Map();
    const chunk = this.#t.host.handoffChunkSize;
    const buffers = new Map<string, { items: DeltaItem[]; entries: number }>();
    const push = async (target: string, item: DeltaItem): Promise<void> => {
      let b = buffers.get(target);
      if (b === undefined) buffers.set(target, (b = { items: [], entries: 0 }));
      b.items.push(item);
      b.entries += Math.max(1, item[2].length);
      s.entries += item[2].length;
      for (const e of item[2]) s.bytes += entryBytes(e[0]);
      if (b.entries >= chunk) {
        buffers.delete(target);
        await this.#flush(s, target, 'sc.handoffDelta', b.items, b.entries);
      }
    };
    let keys = 0;
    const self = this.#t.host.nodeId;
    const pp = this.#t.spec.partitionPos;
    for (const [i, m] of touched) {
      const table = this.#t.shards.table(i);
      for (const [mk, key] of m) {
        keys++;
        const entries = table.lookupEntries(key);
        if (s.moving !== undefined) {
          const list = entries.map(wire);
          for (const target of s.moving.get(i) ?? []) await push(target, [i, key, list]);
          continue;
        }
        const groups = new Map<string, { o: Owner; list: WireEntry[] }>();
        for (const e of entries) {
          const o = this.#t.ownerIn(s.next, e.obj[pp] as Term);
          if (o.node === self && o.shard === i) continue;
          const g = `${o.shard}:${o.node}`;
          let grp = groups.get(g);
          if (grp === undefined) groups.set(g, (grp = { o, list: [] }));
          grp.list.push(wire(e));
        }
        const sent = s.sentTo.get(i)?.get(mk) ?? [];
        for (const [n, sh] of sent) {
          if (!groups.has(`${sh}:${n}`)) await push(n, [sh, key, []]);
        }
        for (const { o, list } of groups.values()) {
          this.#recordSent(s, i, key, o);
          await push(o.node, [o.shard, key, list]);
        }
      }
    }
    for (const [target, b] of buffers) await this.#flush(s, target, 'sc.handoffDelta', b.items, b.entries);
    return keys;
  }

  /** Keys changed on moving data since the last pass. */
  pendingDelta(): number {
    let n = 0;
    for (const m of this.#source?.touched.values() ?? []) n += m.size;
    return n;
  }

  /**
   * Switch: holds every command on moving data (queued, never dropped) and
   * sends the final delta. The hold ends when the handoff's view is adopted
   * (held commands then get `SC_ERR_NOT_OWNER` and retry at the new owner)
   * or the handoff is aborted (they run here).
   */
  async holdAndFinish(hid: string): Promise<string[]> {
    const s = this.#source;
    if (s === undefined || s.hid !== hid) return [];
    s.holding = true;
    // A leader that never commits must not freeze this data forever.
    s.holdTimer = setTimeout(() => {
      if (this.#source === s) {
        this.#t.host.progress({
          handoff: s.hid,
          role: 'source',
          phase: 'aborted',
          table: this.#t.name,
          entries: s.entries,
          bytes: s.bytes,
          durationMs: this.#t.host.clock.now() - s.started,
          error: 'no commit within the hold timeout',
        });
        this.abort();
      }
    }, this.#t.host.holdTimeoutMs * 2);
    s.holdTimer.unref?.();
    await this.sendDelta(hid);
    return [...s.targets];
  }

  /**
   * `'partitions'`: the partitions this source hands to `target`, with the
   * replication sequence each reached (sent with `sc.handoffDone`, after the
   * final delta, while the data is held). The target replaces its copy of
   * each with what it staged and continues from that sequence.
   */
  movedTo(hid: string, target: string): Record<string, number> | undefined {
    const s = this.#source;
    if (s === undefined || s.hid !== hid || s.moving === undefined) return undefined;
    const out: Record<string, number> = {};
    for (const [p, targets] of s.moving) {
      if (targets.includes(target)) out[p] = Math.max(0, this.#t.replicator()?.appliedSeq(p) ?? 0);
    }
    return out;
  }

  /** Counts of the current source handoff. */
  counts(): { entries: number; bytes: number } {
    return { entries: this.#source?.entries ?? 0, bytes: this.#source?.bytes ?? 0 };
  }

  /** Ends the source side (after commit or abort) and releases held commands. */
  abort(): void {
    const s = this.#source;
    if (s === undefined) return;
    this.#source = undefined;
    if (s.holdTimer !== undefined) clearTimeout(s.holdTimer);
    s.release();
  }

  /** The id of the handoff this table is a source of, if any. */
  get hid(): string | undefined {
    return this.#source?.hid;
  }
}
