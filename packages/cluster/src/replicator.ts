/**
 * Replication of one table: every partition has a replica set (the top
 * `replicationFactor` hosts by rendezvous ranking, primary first); for a
 * replicated `'shards'` table the partitions are replica groups (see
 * `ShardsPlacement.replicas`, option `groups`). The primary gives every
 * write a sequence number per partition and ships the resulting state of
 * the keys it touched — not the command — to the backups, which apply
 * records strictly in sequence order. A backup
 * that finds a gap (it missed records, or holds another history) is resynced
 * from a snapshot, then follows the log again.
 *
 * - `async`: a write is acknowledged once the primary applied it.
 * - `sync` and `strong`: once a strict majority of the replica set (the
 *   primary included) applied it (every copy, for replica groups); a
 *   backup still catching up counts for nothing. On timeout the caller gets `SC_ERR_QUORUM_TIMEOUT` with
 *   `details.outcome === 'unknown'`: the write may have applied.
 * - `strong` also makes a read on the primary wait until every write that
 *   was applied before it is committed, so a read never returns a value a
 *   failover could take back.
 */

import { hashTerm, hashUtf16 } from '@supercache/partition';
import {
  type Entry,
  type EntryMeta,
  SuperCacheError,
  type Table,
  type Term,
  type Tuple,
} from '@supercache/storage';
import type { ClusterCounters } from './health.js';
import type { View } from './view.js';

/** An entry on the wire: `[obj, expiresAt, version | null]`. */
export type ReplicaEntry = [obj: Tuple, expiresAt: number, version: string | null];
/** The state of one key after a write: its complete list of objects (`[]` = deleted). */
export type KeyState = [key: Term, entries: ReplicaEntry[]];
/** One replication record: a sequence number and the keys it changed. */
export type ReplicaRecord = [seq: number, keys: KeyState[]];
/** Records for one partition in one `sc.replicate` call: `[partition, primarySeq, records]`. */
export type ReplicaBatch = [partition: number, primarySeq: number, records: ReplicaRecord[]];

/** How writes reach the backups. */
export type ReplicationMode = 'async' | 'sync' | 'strong';

/** Most records kept per partition for backups to catch up from; past it, a lagging backup is resynced. */
const MAX_LOG = 10_000;
/** Objects per snapshot chunk of a resync. */
const SNAPSHOT_CHUNK = 2000;

/**
 * What a partition's copy is stored in: one storage table (`'partitions'`),
 * or the keys of one replica group spread over a node's shards (`'shards'`).
 */
export type ReplicaStore = Pick<
  Table,
  'lookupEntries' | 'delete' | 'insertEntry' | 'entries' | 'deleteAllObjects'
>;

/** What the replicator needs from its table and node. */
export interface ReplicaHost {
  readonly nodeId: string;
  readonly table: string;
  readonly mode: ReplicationMode;
  readonly counters: ClusterCounters;
  readonly callTimeoutMs: number;
  readonly clock: { now(): number };
  /** The view this node holds now. */
  view(): View;
  /** The copies of partition `p` under `view`, primary first. */
  replicasOf(p: number, view: View): readonly string[];
  /** The storage of partition `p` on this node. */
  tableOf(p: number): ReplicaStore;
  /**
   * `'shards'` tables: a write acknowledged in `sync`/`strong` waits for
   * every copy (no promotion there: the next-ranked copy takes over, so it
   * must hold every acknowledged write), and a partition (replica group)
   * this node leads is set up on its first write. @defaultValue false
   */
  readonly groups?: boolean;
  /** Sends a data-plane call to a peer (batched with others to it). */
  call<T>(peer: string, method: string, body: unknown): Promise<T>;
  /** Reports an error a background task could not hand to a caller. */
  swallowed(where: string, error: unknown): void;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** The primary's state of one backup of one partition. */
interface BackupState {
  /** Highest sequence the backup said it applied (-1 = unknown). */
  acked: number;
  /** True while a snapshot is being sent to it; it counts for no acknowledgement then. */
  resyncing: boolean;
  /** True once the backup acknowledged a position this primary knows it holds. */
  inSync: boolean;
}

/** The primary's state of one partition it owns. */
interface PrimaryPart {
  seq: number;
  /** Records after `seq - log.length`, oldest first, with the time each was appended. */
  readonly log: Array<{ rec: ReplicaRecord; at: number }>;
  readonly backups: Map<string, BackupState>;
  readonly waiters: Waiter[];
  /** Highest sequence a majority applied. */
  committed: number;
}

/** What to ship to one backup node. */
interface Outbox {
  readonly parts: Set<number>;
  sending: boolean;
}

function toWire(e: Entry): ReplicaEntry {
  return [e.obj, e.expiresAt, e.version ?? null];
}

function meta(expiresAt: number, version: string | null): EntryMeta {
  return version === null ? { expiresAt } : { expiresAt, version };
}

/** Replaces the objects of every key in `keys` by the given state. Idempotent. */
export function applyKeyStates(table: ReplicaStore, keys: readonly KeyState[]): void {
  for (const [key, entries] of keys) {
    table.delete(key);
    for (const [obj, expiresAt, version] of entries) table.insertEntry(obj, meta(expiresAt, version));
  }
}

/**
 * An order-independent digest of a partition's live objects (expired ones
 * are left out: copies sweep at different moments): their count, and the
 * sum and xor of one hash per object (its term, expiry and version).
 */
export type PartitionDigest = [count: number, sum: number, xor: number];

/** The digest of `table`'s live objects at `now`. */
export function digestOf(table: ReplicaStore, now: number): PartitionDigest {
  let count = 0;
  let sum = 0;
  let xor = 0;
  for (const e of table.entries()) {
    if (e.expiresAt > 0 && e.expiresAt <= now) continue;
    const h =
      (Math.imul(hashTerm(e.obj), 0x9e3779b1) ^ hashUtf16(e.version ?? '') ^ (e.expiresAt % 0x7fffffff)) >>>
      0;
    count++;
    sum = (sum + h) >>> 0;
    xor = (xor ^ h) >>> 0;
  }
  return [count, sum, xor];
}

/** A strict majority of `n` copies. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Replication of one table on one node: the primary side of the partitions it owns, the backup side of the others it holds. */
export class Replicator {
  readonly #host: ReplicaHost;
  readonly #primary = new Map<number, PrimaryPart>();
  /** Backup side: the sequence applied for each partition this node holds a copy of. */
  readonly #applied = new Map<number, number>();
  /** Backup side: snapshot being received, per partition. */
  readonly #staging = new Map<number, { seq: number; entries: ReplicaEntry[] }>();
  readonly #outboxes = new Map<string, Outbox>();
  /** Anti-entropy: the partition whose copies the next check compares. */
  #nextCheck = 0;
  #checking = false;
  #closed = false;
  /** Bumped by {@link Replicator.regroup}: answers to calls made before it are ignored. */
  #generation = 0;

  constructor(host: ReplicaHost) {
    this.#host = host;
  }

  // ---------------------------------------------------------------------------
  // State across views

  /**
   * Called when the node adopts `next`: starts or ends the primary role of
   * each partition and forgets copies this node no longer holds. A partition
   * whose primary moved here continues from the sequence this node applied
   * (or `seqs[p]` from the handoff that brought it).
   */
  onView(prev: View, next: View, numPartitions: number, seqs?: ReadonlyMap<number, number>): void {
    const self = this.#host.nodeId;
    for (let p = 0; p < numPartitions; p++) {
      const was = this.#host.replicasOf(p, prev);
      const now = this.#host.replicasOf(p, next);
      const primaryNow = now[0] === self;
      const part = this.#primary.get(p);
      const handed = seqs?.get(p);
      if (!now.includes(self)) {
        if (part !== undefined) this.#endPrimary(p, part, 'moved');
        this.#applied.delete(p);
        this.#staging.delete(p);
        continue;
      }
      if (primaryNow) {
        if (part === undefined) {
          const base = handed ?? this.#applied.get(p) ?? (was.includes(self) ? 0 : 0);
          this.#applied.delete(p);
          this.#staging.delete(p);
          this.#primary.set(p, {
            seq: base,
            log: [],
            backups: new Map(),
            waiters: [],
            committed: base,
          });
        } else if (handed !== undefined && handed > part.seq) {
          part.seq = handed;
        }
        const pp = this.#primary.get(p) as PrimaryPart;
        for (const b of [...pp.backups.keys()]) {
          if (!now.includes(b)) {
            pp.backups.delete(b);
          }
        }
        for (const b of now.slice(1)) {
          if (!pp.backups.has(b)) pp.backups.set(b, { acked: -1, resyncing: false, inSync: false });
          this.#queue(b, p);
        }
        this.#settle(p, pp);
        continue;
      }
      // A backup now.
      if (part !== undefined) {
        this.#endPrimary(p, part, 'moved');
        this.#applied.set(p, handed ?? part.seq);
      } else if (handed !== undefined) {
        this.#applied.set(p, handed);
      } else if (!was.includes(self)) {
        // A new copy: it holds nothing until the primary resyncs it.
        this.#applied.delete(p);
      }
    }
  }

  /** `groups`: starts leading `p` when this node is its primary in the current view. */
  #leadNew(p: number): PrimaryPart | undefined {
    if (this.#host.groups !== true || this.#closed) return undefined;
    const copies = this.#host.replicasOf(p, this.#host.view());
    if (copies[0] !== this.#host.nodeId) return undefined;
    const part: PrimaryPart = { seq: 0, log: [], backups: new Map(), waiters: [], committed: 0 };
    this.#primary.set(p, part);
    for (const b of copies.slice(1)) {
      part.backups.set(b, { acked: -1, resyncing: false, inSync: false });
      this.#queue(b, p);
    }
    return part;
  }

  /** `groups`: leads every partition in `ps` this node is the primary of (a refill after a view change). */
  lead(ps: Iterable<number>): void {
    for (const p of ps) if (!this.#primary.has(p)) this.#leadNew(p);
  }

  /**
   * `groups`: the view changed which keys each partition (replica group)
   * holds. Every partition this node leads is renumbered by `remap` (its
   * sequence, log and waiting writes kept) or ended when `remap` gives
   * `undefined`; every backup of it is resynced from a snapshot, and every
   * copy held here as a backup is forgotten until its primary resyncs it.
   * Answers to calls made before this are ignored.
   */
  regroup(remap: (p: number) => number | undefined): void {
    this.#generation++;
    const old = [...this.#primary];
    this.#primary.clear();
    this.#applied.clear();
    this.#staging.clear();
    for (const box of this.#outboxes.values()) box.parts.clear();
    const view = this.#host.view();
    for (const [p, part] of old) {
      const q = remap(p);
      const copies = q === undefined ? [] : this.#host.replicasOf(q, view);
      if (q === undefined || copies[0] !== this.#host.nodeId || this.#primary.has(q)) {
        for (const w of part.waiters.splice(0)) w.reject(uncertain(this.#host.table, p, 'the primary moved'));
        continue;
      }
      part.backups.clear();
      for (const b of copies.slice(1)) part.backups.set(b, { acked: -1, resyncing: false, inSync: false });
      part.committed = Math.min(part.committed, part.seq);
      this.#primary.set(q, part);
    }
    for (const [q, part] of this.#primary) {
      for (const b of part.backups.keys()) this.#queue(b, q);
      this.#settle(q, part);
    }
  }

  #endPrimary(p: number, part: PrimaryPart, why: string): void {
    this.#primary.delete(p);
    for (const w of part.waiters.splice(0)) w.reject(uncertain(this.#host.table, p, `the primary ${why}`));
  }

  /** The sequence this node holds for each partition it has a copy of (primary or backup). */
  copySeqs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [p, part] of this.#primary) out[p] = part.seq;
    for (const [p, s] of this.#applied) out[p] = s;
    return out;
  }

  /** True when this node holds a copy of `p` that has applied at least `seq` (backup side), or is its primary. */
  holdsCopy(p: number, seq = 0): boolean {
    if (this.#primary.has(p)) return true;
    const a = this.#applied.get(p);
    return a !== undefined && a >= seq;
  }

  /** The sequence applied here for `p` (primary: its last sequence), or -1 without a copy. */
  appliedSeq(p: number): number {
    return this.#primary.get(p)?.seq ?? this.#applied.get(p) ?? -1;
  }

  // ---------------------------------------------------------------------------
  // Primary: writes

  /**
   * Records a write on partition `p` that changed `keys` (already applied on
   * this node). Resolves when the mode's acknowledgement condition holds.
   * @returns the write's sequence number.
   */
  record(p: number, keys: readonly Term[]): { seq: number; committed: Promise<void> | undefined } {
    const part = this.#primary.get(p) ?? this.#leadNew(p);
    if (part === undefined || keys.length === 0) return { seq: part?.seq ?? 0, committed: undefined };
    const table = this.#host.tableOf(p);
    const states: KeyState[] = keys.map((k) => [k, table.lookupEntries(k).map(toWire)]);
    const seq = ++part.seq;
    part.log.push({ rec: [seq, states], at: this.#host.clock.now() });
    if (part.log.length > MAX_LOG) part.log.splice(0, part.log.length - MAX_LOG);
    this.#host.counters.replicationRecords++;
    for (const b of part.backups.keys()) this.#queue(b, p);
    if (this.#host.mode === 'async') {
      this.#settle(p, part);
      return { seq, committed: undefined };
    }
    return { seq, committed: this.#waitCommit(p, part, seq) };
  }

  #waitCommit(p: number, part: PrimaryPart, seq: number): Promise<void> {
    if (part.committed >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = part.waiters.indexOf(w);
        if (i >= 0) part.waiters.splice(i, 1);
        this.#host.counters.replicationTimeouts++;
        reject(uncertain(this.#host.table, p, 'a majority of its copies did not acknowledge in time'));
      }, this.#host.callTimeoutMs);
      timer.unref?.();
      const w: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      part.waiters.push(w);
      this.#settle(p, part);
    });
  }

  /** Recomputes the committed sequence of `p` and resolves the waits it satisfies. */
  #settle(p: number, part: PrimaryPart): void {
    const view = this.#host.view();
    const copies = this.#host.replicasOf(p, view);
    const need = this.#host.groups === true ? copies.length - 1 : majority(copies.length) - 1;
    const acked: number[] = [];
    for (const b of copies.slice(1)) {
      const s = part.backups.get(b);
      if (s?.inSync && !s.resyncing) acked.push(s.acked);
    }
    acked.sort((a, b) => b - a);
    const committed = need === 0 ? part.seq : (acked[need - 1] ?? -1);
    if (committed > part.committed) part.committed = committed;
    if (part.waiters.length === 0) {
      this.#trim(part);
      return;
    }
    for (let i = part.waiters.length - 1; i >= 0; i--) {
      const w = part.waiters[i] as Waiter;
      if (w.seq <= part.committed) {
        part.waiters.splice(i, 1);
        w.resolve();
      }
    }
    this.#trim(part);
  }

  /** Drops log records every backup has applied. */
  #trim(part: PrimaryPart): void {
    let min = part.seq;
    for (const s of part.backups.values()) min = Math.min(min, s.acked);
    const first = part.seq - part.log.length + 1;
    const drop = Math.min(part.log.length, min - first + 1);
    if (drop > 0) part.log.splice(0, drop);
  }

  /** The partitions this node leads. */
  led(): number[] {
    return [...this.#primary.keys()];
  }

  /** Resolves once every write applied on `p` before this call is committed (`strong` reads). */
  async readBarrier(p: number): Promise<void> {
    const part = this.#primary.get(p);
    if (part === undefined || part.committed >= part.seq) return;
    await this.#waitCommit(p, part, part.seq);
  }

  // ---------------------------------------------------------------------------
  // Primary: shipping

  #queue(backup: string, p: number): void {
    if (this.#closed) return;
    let box = this.#outboxes.get(backup);
    if (box === undefined) this.#outboxes.set(backup, (box = { parts: new Set(), sending: false }));
    box.parts.add(p);
    if (!box.sending) void this.#ship(backup, box);
  }

  /** Sends every queued partition's pending records to `backup`, one call in flight at a time. */
  async #ship(backup: string, box: Outbox): Promise<void> {
    box.sending = true;
    try {
      while (box.parts.size > 0 && !this.#closed) {
        const batches: ReplicaBatch[] = [];
        for (const p of box.parts) {
          const part = this.#primary.get(p);
          const s = part?.backups.get(backup);
          if (part === undefined || s === undefined || s.resyncing) continue;
          const first = part.seq - part.log.length + 1;
          const from = Math.max(s.acked + 1, first);
          const recs = part.log.slice(from - first).map((x) => x.rec);
          batches.push([p, part.seq, recs]);
        }
        box.parts.clear();
        if (batches.length === 0) break;
        const view = this.#host.view();
        const gen = this.#generation;
        let reply: { acks?: unknown; gaps?: unknown };
        try {
          reply = await this.#host.call(backup, 'sc.replicate', {
            t: this.#host.table,
            e: view.epoch,
            b: batches,
          });
        } catch (e) {
          this.#host.counters.replicationFailures++;
          // Retried on the next write or probe; the backup stays behind meanwhile.
          if (gen !== this.#generation) break;
          for (const [p] of batches) {
            const s = this.#primary.get(p)?.backups.get(backup);
            if (s !== undefined) s.inSync = false;
          }
          this.#host.swallowed(`replicate to ${backup}`, e);
          break;
        }
        if (gen !== this.#generation) continue;
        this.#onReply(backup, reply);
      }
    } finally {
      box.sending = false;
    }
  }

  #onReply(backup: string, reply: { acks?: unknown; gaps?: unknown }): void {
    const acks = Array.isArray(reply.acks) ? (reply.acks as Array<[number, number]>) : [];
    for (const [p, seq] of acks) {
      const part = this.#primary.get(p);
      const s = part?.backups.get(backup);
      if (part === undefined || s === undefined || typeof seq !== 'number') continue;
      if (seq > part.seq) {
        // The backup holds a history this primary never wrote: resync it.
        this.#resync(backup, p);
        continue;
      }
      if (seq > s.acked || !s.inSync) {
        s.acked = seq;
        s.inSync = true;
      }
      if (seq < part.seq) this.#queue(backup, p);
      this.#settle(p, part);
    }
    const gaps = Array.isArray(reply.gaps) ? (reply.gaps as Array<[number, number]>) : [];
    for (const [p, applied] of gaps) {
      const part = this.#primary.get(p);
      const s = part?.backups.get(backup);
      if (part === undefined || s === undefined) continue;
      const first = part.seq - part.log.length + 1;
      if (typeof applied === 'number' && applied >= 0 && applied + 1 >= first && applied <= part.seq) {
        // The log still has what it misses: catch up from there.
        s.acked = applied;
        s.inSync = true;
        this.#queue(backup, p);
      } else {
        this.#resync(backup, p);
      }
    }
  }

  /** Streams a snapshot of `p` to `backup`, then lets it follow the log from the snapshot's sequence. */
  #resync(backup: string, p: number): void {
    const part = this.#primary.get(p);
    const s = part?.backups.get(backup);
    if (part === undefined || s === undefined || s.resyncing) return;
    s.resyncing = true;
    s.inSync = false;
    this.#host.counters.replicaResyncs++;
    void this.#sendSnapshot(backup, p, part, s).finally(() => {
      s.resyncing = false;
      if (this.#primary.get(p) === part) {
        this.#queue(backup, p);
        this.#settle(p, part);
      }
    });
  }

  async #sendSnapshot(backup: string, p: number, part: PrimaryPart, s: BackupState): Promise<void> {
    const seq = part.seq;
    const table = this.#host.tableOf(p);
    const gen = this.#generation;
    let chunk: ReplicaEntry[] = [];
    let first = true;
    const send = async (last: boolean) => {
      // A partition renumbered meanwhile means other keys now: stop.
      if (gen !== this.#generation) throw new SuperCacheError('SC_ERR_STALE_EPOCH', 'regrouped');
      const view = this.#host.view();
      await this.#host.call(backup, 'sc.replicaSnapshot', {
        t: this.#host.table,
        e: view.epoch,
        p,
        s: seq,
        first,
        last,
        items: chunk,
      });
      this.#host.counters.replicaSnapshotEntries += chunk.length;
      first = false;
      chunk = [];
    };
    try {
      for (const e of table.entries()) {
        if (this.#primary.get(p) !== part) return;
        chunk.push(toWire(e));
        if (chunk.length >= SNAPSHOT_CHUNK) await send(false);
      }
      await send(true);
      if (gen !== this.#generation) return;
      // Records after `seq` replay on top: they carry whole key states, so
      // objects the snapshot already had at a newer state converge.
      s.acked = seq;
      s.inSync = true;
    } catch (e) {
      this.#host.counters.replicationFailures++;
      this.#host.swallowed(`resync of partition ${p} to ${backup}`, e);
    }
  }

  /** Asks every backup of every partition this node leads where it stands (probe and anti-entropy). */
  probe(): void {
    for (const [p, part] of this.#primary) for (const b of part.backups.keys()) this.#queue(b, p);
  }

  /**
   * Anti-entropy, one partition per call (round robin over those this node
   * leads): sends the partition's digest at its current sequence to every
   * backup in sync; a backup at the same sequence with another digest is
   * resynced from a snapshot and counted in `antiEntropyRepairs`.
   */
  async checkDigests(): Promise<void> {
    if (this.#checking || this.#closed || this.#primary.size === 0) return;
    const led = [...this.#primary.keys()].sort((a, b) => a - b);
    const p = led.find((x) => x >= this.#nextCheck) ?? (led[0] as number);
    this.#nextCheck = p + 1;
    const part = this.#primary.get(p) as PrimaryPart;
    const seq = part.seq;
    const digest = digestOf(this.#host.tableOf(p), this.#host.clock.now());
    this.#checking = true;
    try {
      await Promise.all(
        [...part.backups].map(async ([b, st]) => {
          if (!st.inSync || st.resyncing || st.acked !== seq) return;
          try {
            const verdict = await this.#host.call<string>(b, 'sc.replicaDigest', {
              t: this.#host.table,
              e: this.#host.view().epoch,
              p,
              s: seq,
              d: digest,
            });
            if (verdict === 'differs' && this.#primary.get(p) === part && st === part.backups.get(b)) {
              this.#host.counters.antiEntropyRepairs++;
              this.#resync(b, p);
            }
          } catch (e) {
            this.#host.swallowed(`digest check of partition ${p} with ${b}`, e);
          }
        }),
      );
    } finally {
      this.#checking = false;
    }
  }

  // ---------------------------------------------------------------------------
  // Backup side

  /**
   * `sc.replicaDigest`: compares this copy of `p` with the primary's digest
   * at sequence `seq`. `'behind'` when this copy is at another sequence (no
   * verdict: the log will move it), else `'same'` or `'differs'`.
   */
  compareDigest(p: number, seq: number, digest: PartitionDigest): 'same' | 'differs' | 'behind' {
    if (this.#applied.get(p) !== seq || this.#staging.has(p)) return 'behind';
    const mine = digestOf(this.#host.tableOf(p), this.#host.clock.now());
    return mine[0] === digest[0] && mine[1] === digest[1] && mine[2] === digest[2] ? 'same' : 'differs';
  }

  /**
   * `sc.replicate`: applies records in sequence order, per partition. The
   * caller checked that the sender is the partition's primary in this
   * node's view. Returns the position of every partition, and the ones with
   * a gap (which the primary fills from its log or a snapshot).
   */
  applyBatches(batches: readonly ReplicaBatch[]): {
    acks: Array<[number, number]>;
    gaps: Array<[number, number]>;
  } {
    const acks: Array<[number, number]> = [];
    const gaps: Array<[number, number]> = [];
    for (const [p, primarySeq, recs] of batches) {
      if (this.#primary.has(p)) continue;
      let applied = this.#applied.get(p);
      if (applied === undefined) {
        gaps.push([p, -1]);
        continue;
      }
      const table = this.#host.tableOf(p);
      let gap = false;
      for (const [seq, keys] of recs) {
        if (seq <= applied) continue;
        if (seq !== applied + 1) {
          gap = true;
          break;
        }
        applyKeyStates(table, keys);
        applied = seq;
      }
      this.#applied.set(p, applied);
      if (gap || applied < primarySeq) gaps.push([p, applied]);
      else acks.push([p, applied]);
    }
    return { acks, gaps };
  }

  /** `sc.replicaSnapshot`: stages a snapshot chunk; the last one replaces the partition's copy. */
  applySnapshot(p: number, seq: number, first: boolean, last: boolean, items: readonly ReplicaEntry[]): void {
    if (this.#primary.has(p)) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', `partition ${p} of ${this.#host.table} is led here`);
    }
    let st = this.#staging.get(p);
    if (first || st === undefined || st.seq !== seq) {
      st = { seq, entries: [] };
      this.#staging.set(p, st);
    }
    for (const it of items) st.entries.push(it);
    if (!last) return;
    this.#staging.delete(p);
    const table = this.#host.tableOf(p);
    table.deleteAllObjects();
    for (const [obj, expiresAt, version] of st.entries) table.insertEntry(obj, meta(expiresAt, version));
    this.#applied.set(p, seq);
  }

  // ---------------------------------------------------------------------------
  // Health

  /** Replication lag per partition this node leads: records and ms behind, per backup. */
  lag(): Array<{ partition: number; backup: string; records: number; ms: number; inSync: boolean }> {
    const now = this.#host.clock.now();
    const out: Array<{ partition: number; backup: string; records: number; ms: number; inSync: boolean }> =
      [];
    for (const [p, part] of this.#primary) {
      const first = part.seq - part.log.length + 1;
      for (const [b, s] of part.backups) {
        const behind = s.acked < 0 ? part.seq : part.seq - s.acked;
        const oldest = part.log[Math.max(0, s.acked + 1 - first)];
        out.push({
          partition: p,
          backup: b,
          records: behind,
          ms: behind === 0 || oldest === undefined ? 0 : now - oldest.at,
          inSync: s.inSync && !s.resyncing,
        });
      }
    }
    return out;
  }

  /** Drops every replication state (the node leaves its cluster or stops). */
  reset(): void {
    for (const [p, part] of this.#primary) this.#endPrimary(p, part, 'was reset');
    this.#applied.clear();
    this.#staging.clear();
  }

  close(): void {
    this.#closed = true;
    this.reset();
  }
}

/** The error of a write whose replication outcome is unknown. */
export function uncertain(table: string, p: number, why: string): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_QUORUM_TIMEOUT',
    `table ${table}, partition ${p}: ${why}; the write applied on the primary and may survive ` +
      '(outcome unknown: read it back before retrying a non-idempotent write)',
    { retryable: true, details: { table, partition: p, outcome: 'unknown' } },
  );
}
