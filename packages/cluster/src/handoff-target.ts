/**
 * The target side of a handoff for one table on one node: stages incoming
 * snapshot chunks and deltas (never served, invisible to fan-outs) until the
 * handoff's view is committed, then applies them. Owned by a
 * {@link DistributedTable}; reached by the node's handoff participant, never
 * through the table's public API.
 */

import { compareVersions } from '@supercache/replication';
import { keyOf, type MapKey, SuperCacheError, type Term } from '@supercache/storage';
import {
  type ChunkItem,
  type DeltaItem,
  entryBytes,
  type HandoffTableAccess,
  meta,
  type WireEntry,
} from './handoff-wire.js';
import type { View } from './view.js';

interface StagedKey {
  readonly key: Term;
  /** The source's complete list of the key's objects (`[]` = deleted there). */
  entries: WireEntry[];
}

interface Staged {
  readonly hid: string;
  readonly epoch: number;
  /** Snapshot chunks as they arrived (kept whole: staging copies nothing). */
  readonly chunks: (readonly ChunkItem[])[];
  /** Keys a delta replaced, per shard: their staged chunk entries are ignored. */
  readonly deltas: Map<number, Map<MapKey, StagedKey>>;
  readonly started: number;
  entries: number;
  bytes: number;
}

/** The target side of one table's handoffs. */
export class HandoffTarget {
  readonly #t: HandoffTableAccess;
  readonly #staged = new Map<string, Staged>();
  /** Sequences handed over with staged data, per handoff and partition. */
  readonly #stagedSeqs = new Map<string, Map<number, number>>();

  constructor(table: HandoffTableAccess) {
    this.#t = table;
  }

  #stagedFor(hid: string, epoch: number): Staged {
    let st = this.#staged.get(hid);
    if (st === undefined) {
      st = {
        hid,
        epoch,
        chunks: [],
        deltas: new Map(),
        started: this.#t.host.clock.now(),
        entries: 0,
        bytes: 0,
      };
      this.#staged.set(hid, st);
    }
    return st;
  }

  #checkShard(shard: number): void {
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.#t.shards.shardCount) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `table ${this.#t.name} has no shard ${shard}`);
    }
  }

  #observe(version: string | null): void {
    if (version === null) return;
    try {
      this.#t.host.hlc.update(version);
    } catch {
      // ignored: see #syncFrom
    }
  }

  /** Stages a snapshot chunk (not served, not visible to fan-outs). */
  stageChunk(hid: string, epoch: number, items: readonly ChunkItem[]): number {
    for (const it of items) this.#checkShard(it[0]);
    const st = this.#stagedFor(hid, epoch);
    let newest: string | null = null;
    let bytes = 0;
    for (const it of items) {
      bytes += entryBytes(it[1]);
      if (compareVersions(it[3], newest) > 0) newest = it[3];
    }
    st.chunks.push(items);
    st.entries += items.length;
    st.bytes += bytes;
    this.#observe(newest);
    this.#t.host.counters.handoffEntriesReceived += items.length;
    return st.entries;
  }

  /** Stages a delta: each key's list replaces what was staged for it. */
  stageDelta(hid: string, epoch: number, items: readonly DeltaItem[]): number {
    for (const it of items) this.#checkShard(it[0]);
    const st = this.#stagedFor(hid, epoch);
    let newest: string | null = null;
    for (const [shard, key, entries] of items) {
      let m = st.deltas.get(shard);
      if (m === undefined) st.deltas.set(shard, (m = new Map()));
      const k = keyOf(key);
      const sk = m.get(k);
      if (sk === undefined) m.set(k, { key, entries });
      else sk.entries = entries;
      st.entries += entries.length;
      for (const e of entries) {
        st.bytes += entryBytes(e[0]);
        if (compareVersions(e[2], newest) > 0) newest = e[2];
      }
    }
    this.#observe(newest);
    this.#t.host.counters.handoffEntriesReceived += items.length;
    return st.entries;
  }

  /** Counts staged for a handoff. */
  stagedCounts(hid: string): { entries: number; bytes: number; started: number } | undefined {
    const st = this.#staged.get(hid);
    return st === undefined ? undefined : { entries: st.entries, bytes: st.bytes, started: st.started };
  }

  /** Drops what was staged for an aborted handoff. */
  discard(hid: string): void {
    this.#staged.delete(hid);
    this.#stagedSeqs.delete(hid);
  }

  #applyStaged(st: Staged, moved: ReadonlyMap<number, number> | undefined): number {
    const set = this.#t.spec.type === 'set' || this.#t.spec.type === 'ordered_set';
    const kp = this.#t.spec.keyPos;
    const shards = this.#t.shards;
    let n = 0;
    // A partition moved whole (one source) replaces this node's copy.
    for (const p of moved?.keys() ?? []) {
      const t = shards.table(p);
      if (t.size > 0) t.deleteAllObjects();
    }
    // Bags merged key by key: the source's list for a key is complete, so
    // the first staged object of a key clears what this node held for it.
    const cleared = set ? undefined : new Map<number, Set<MapKey>>();
    for (const items of st.chunks) {
      for (const [shard, obj, expiresAt, version] of items) {
        const key = obj[kp] as Term;
        const replaced = st.deltas.get(shard);
        if (replaced !== undefined && replaced.has(keyOf(key))) continue; // a delta has the key's final list
        n++;
        const t = shards.table(shard);
        if (moved?.has(shard) === true) {
          t.insertEntry(obj, meta(expiresAt, version));
        } else if (cleared === undefined) {
          const live = t.lookupEntries(key)[0];
          // Last writer wins: keep a live copy only if it is strictly newer.
          if (live !== undefined && compareVersions(live.version, version) > 0) continue;
          t.insertEntry(obj, meta(expiresAt, version));
        } else {
          let c = cleared.get(shard);
          if (c === undefined) cleared.set(shard, (c = new Set()));
          const k = keyOf(key);
          if (!c.has(k)) {
            c.add(k);
            t.delete(key);
          }
          t.insertEntry(obj, meta(expiresAt, version));
        }
      }
    }
    for (const [shard, keys] of st.deltas) {
      const t = shards.table(shard);
      const whole = moved?.has(shard) === true;
      for (const sk of keys.values()) {
        n += sk.entries.length;
        if (set && !whole) {
          const incoming = sk.entries[sk.entries.length - 1];
          if (incoming === undefined) {
            t.delete(sk.key);
            continue;
          }
          const live = t.lookupEntries(sk.key)[0];
          if (live !== undefined && compareVersions(live.version, incoming[2]) > 0) continue;
          t.insertEntry(incoming[0], meta(incoming[1], incoming[2]));
          continue;
        }
        // A whole partition, or a bag: the source's list for the key is complete.
        t.delete(sk.key);
        for (const [obj, expiresAt, version] of sk.entries) t.insertEntry(obj, meta(expiresAt, version));
      }
    }
    return n;
  }

  /** Records which partitions a handoff moves to this node, and their sequences (see {@link movedTo}). */
  stageMoved(hid: string, moved: Record<string, unknown>): void {
    const m = new Map<number, number>();
    for (const [k, v] of Object.entries(moved)) {
      const p = Number(k);
      if (!Number.isInteger(p) || p < 0 || p >= this.#t.shards.shardCount || typeof v !== 'number' || v < 0) {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', `bad moved partition ${k} for table ${this.#t.name}`);
      }
      m.set(p, v);
    }
    this.#stagedSeqs.set(hid, m);
  }

  /**
   * Applies what was staged for handoffs `next` commits (and drops what was
   * staged for older ones): returns the replication sequence of every
   * partition moved here whole.
   */
  applyCommitted(next: View): Map<number, number> {
    const handed = new Map<number, number>();
    for (const [hid, st] of [...this.#staged]) {
      if (next.handoffs.includes(hid)) {
        const moved = this.#stagedSeqs.get(hid);
        const n = this.#applyStaged(st, moved);
        for (const [p, seq] of moved ?? []) handed.set(p, seq);
        this.#staged.delete(hid);
        this.#stagedSeqs.delete(hid);
        this.#t.host.progress({
          handoff: hid,
          role: 'target',
          phase: 'applied',
          table: this.#t.name,
          entries: n,
          bytes: st.bytes,
          durationMs: this.#t.host.clock.now() - st.started,
        });
      } else if (st.epoch <= next.epoch) {
        this.#staged.delete(hid);
        this.#stagedSeqs.delete(hid);
      }
    }
    // Partitions moved here with no object staged still replace this node's copy.
    for (const [hid, moved] of [...this.#stagedSeqs]) {
      if (!next.handoffs.includes(hid)) continue;
      for (const [p, seq] of moved) {
        const t = this.#t.shards.table(p);
        if (t.size > 0) t.deleteAllObjects();
        handed.set(p, seq);
      }
      this.#stagedSeqs.delete(hid);
    }
    return handed;
  }

  /** Drops everything staged. */
  clear(): void {
    this.#staged.clear();
    this.#stagedSeqs.clear();
  }
}
