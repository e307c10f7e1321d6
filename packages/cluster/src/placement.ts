/**
 * The two ways a distributed table places its data, as strategy objects a
 * {@link DistributedTable} holds one of:
 *
 * - {@link PartitionsPlacement} (SuperCache): `numPartitions` partitions
 *   that mean the same on every node; each has a replica set, the top
 *   `replicationFactor` hosts by rendezvous rank (primary first, a promoted
 *   copy leading). Data moves between views a whole partition at a time.
 * - {@link ShardsPlacement} (PartitionedEts): every host brings its own
 *   `localShards` shards; a key belongs to the `{node, shard}` with the
 *   highest rendezvous score. Data moves key by key. With `replicas` above
 *   1 a key's copies follow {@link ShardsPlacement.copiesOf}, replicated
 *   per replica group (the keys with the same ordered copy hosts).
 *
 * Each answers, for a view: who owns some partition data, which local
 * shards this node owns, the copies of a partition, what moves between two
 * views, and what a node must drop.
 */

import {
  compareShards,
  computeAssignment,
  createPartitioner,
  createShardRouter,
  type HashFn,
  hashTerm,
  nodeShards,
  type Partitioner,
  type Shard,
  type ShardHashFn,
  type ShardRouter,
  shardScore,
} from '@supercache/partition';
import { keyOf, type MapKey, SuperCacheError, type Table, type Term, type Tuple } from '@supercache/storage';
import { hostsOf, type Placement, type View } from './view.js';

/** An owner of some partition data under one view. */
export interface Owner {
  readonly node: string;
  /** The shard index on that node. */
  readonly shard: number;
}

/** Routing derived from one view (cached per view by the table). */
export interface Routing {
  readonly epoch: number;
  readonly view: View;
  readonly hosts: readonly string[];
}

interface PartitionsRouting extends Routing {
  /** The copies of each partition, primary first. */
  readonly replicas: readonly (readonly string[])[];
}

interface ShardsRouting extends Routing {
  /** Router over every host's shards; undefined when no member hosts the table. */
  readonly router: ShardRouter | undefined;
}

/** What a table's placement answers. */
export interface PlacementStrategy {
  readonly kind: Placement;
  /** Routing under `view`. */
  routing(view: View): Routing;
  /** The owner of partition data `pd` under `r` (`r.hosts` is not empty). */
  ownerIn(r: Routing, pd: Term): Owner;
  /** The local shard of partition data `pd`, owned here or not. */
  shardOf(pd: Term): number;
  /** Local shards whose data `self` serves under `r`. */
  ownedShards(r: Routing, self: string): number[];
  /**
   * The copies of partition `p` under `r`, primary first: a partition of a
   * `'partitions'` table, a replica group of a replicated `'shards'` table;
   * `[]` without replication.
   */
  replicas(r: Routing, p: number): readonly string[];
  /** What each host owns under `r`: partitions, or shards. */
  ownedCounts(r: Routing): Record<string, number>;
  /**
   * Whole partitions `self` must stream for the change `before → after`,
   * each with the nodes that must receive it; `undefined` when data moves
   * key by key (then {@link PlacementStrategy.ownerIn} under `after` says
   * where each object goes).
   */
  moving(before: Routing, after: Routing, self: string): Map<number, readonly string[]> | undefined;
  /** Deletes from `tables` (this node's shards) what `self` holds no copy of under `r`. */
  dropUnowned(r: Routing, self: string, tables: readonly Table[]): void;
}

function clear(t: Table): void {
  if (t.size > 0) t.deleteAllObjects();
}

/** `'partitions'`: cluster-wide partitions with replica sets. */
export class PartitionsPlacement implements PlacementStrategy {
  readonly kind = 'partitions';
  readonly #table: string;
  readonly #numPartitions: number;
  readonly #replicationFactor: number;
  readonly #partitioner: Partitioner;

  constructor(table: string, numPartitions: number, replicationFactor: number, hash: HashFn | undefined) {
    this.#table = table;
    this.#numPartitions = numPartitions;
    this.#replicationFactor = replicationFactor;
    this.#partitioner = createPartitioner({ numPartitions, ...(hash === undefined ? {} : { hash }) });
  }

  routing(view: View): PartitionsRouting {
    const hosts = hostsOf(view, this.#table);
    const promoted = view.promoted?.[this.#table];
    const replicas =
      hosts.length === 0
        ? []
        : computeAssignment(this.#numPartitions, hosts, this.#replicationFactor).owners.map((o, p) => {
            const x = promoted?.[p];
            if (x === undefined || o[0] === x || !o.includes(x)) return o;
            return [x, ...o.filter((n) => n !== x)];
          });
    return { epoch: view.epoch, view, hosts, replicas };
  }

  #replicas(r: Routing): readonly (readonly string[])[] {
    return (r as PartitionsRouting).replicas;
  }

  ownerIn(r: Routing, pd: Term): Owner {
    const p = this.#partitioner.partitionOf(pd);
    return { node: this.#replicas(r)[p]?.[0] as string, shard: p };
  }

  shardOf(pd: Term): number {
    return this.#partitioner.partitionOf(pd);
  }

  ownedShards(r: Routing, self: string): number[] {
    const out: number[] = [];
    const all = this.#replicas(r);
    for (let p = 0; p < all.length; p++) if (all[p]?.[0] === self) out.push(p);
    return out;
  }

  replicas(r: Routing, p: number): readonly string[] {
    return this.#replicas(r)[p] ?? [];
  }

  ownedCounts(r: Routing): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of r.hosts) out[h] = 0;
    for (const o of this.#replicas(r)) out[o[0] as string] = (out[o[0] as string] ?? 0) + 1;
    return out;
  }

  moving(before: Routing, after: Routing, self: string): Map<number, readonly string[]> {
    // The primary streams a partition to every copy it gains, and to a new
    // primary even when that one held a backup copy: at the switch every
    // copy of the next view holds exactly the source's data.
    const b = this.#replicas(before);
    const a = this.#replicas(after);
    const moving = new Map<number, readonly string[]>();
    for (let p = 0; p < b.length; p++) {
      const was = b[p] as readonly string[];
      const now = a[p] as readonly string[];
      if (was[0] !== self) continue;
      const targets = now.filter((n, i) => n !== self && (i === 0 || !was.includes(n)));
      if (targets.length > 0) moving.set(p, targets);
    }
    return moving;
  }

  dropUnowned(r: Routing, self: string, tables: readonly Table[]): void {
    const all = this.#replicas(r);
    for (let p = 0; p < all.length; p++) {
      if (!(all[p] as readonly string[]).includes(self)) clear(tables[p] as Table);
    }
  }
}

/** `'shards'`: every host's own shards, one copy of each key. */
export class ShardsPlacement implements PlacementStrategy {
  readonly kind = 'shards';
  readonly #table: string;
  readonly #partitionPos: number;
  readonly #hash: ShardHashFn | undefined;
  readonly #local: ShardRouter;
  /** Copies of every key, primary included (the table's `replicas`). */
  readonly replicationFactor: number;

  constructor(
    table: string,
    nodeId: string,
    localShards: number,
    partitionPos: number,
    hash: ShardHashFn | undefined,
    replicationFactor = 1,
  ) {
    this.#table = table;
    this.#partitionPos = partitionPos;
    this.#hash = hash;
    this.replicationFactor = replicationFactor;
    this.#local = createShardRouter({
      shards: nodeShards(nodeId, localShards),
      ...(hash === undefined ? {} : { hash }),
    });
  }

  routing(view: View): ShardsRouting {
    const hosts = hostsOf(view, this.#table);
    const per = view.shards[this.#table] ?? {};
    const all: Shard[] = [];
    for (const h of hosts) all.push(...nodeShards(h, per[h] as number));
    const router =
      all.length === 0
        ? undefined
        : createShardRouter({ shards: all, ...(this.#hash === undefined ? {} : { hash: this.#hash }) });
    return { epoch: view.epoch, view, hosts, router };
  }

  ownerIn(r: Routing, pd: Term): Owner {
    const router = (r as ShardsRouting).router;
    if (router === undefined) {
      throw new SuperCacheError(
        'SC_ERR_NO_TABLE',
        `no member hosts table ${this.#table} at epoch ${r.epoch}`,
        {
          retryable: true,
          details: { table: this.#table, epoch: r.epoch },
        },
      );
    }
    const s = router.ownerOf(pd);
    return { node: s.node, shard: s.partition };
  }

  shardOf(pd: Term): number {
    return this.#local.indexOf(pd);
  }

  ownedShards(r: Routing, self: string): number[] {
    if (!r.hosts.includes(self)) return [];
    return Array.from({ length: this.#local.shards.length }, (_x, i) => i);
  }

  /**
   * With `replicas` above 1, a key's copies are {@link ShardsPlacement.copiesOf}
   * — a ranking per key, not per shard — so replication runs over *replica
   * groups*: the keys that share one ordered list of copy hosts. `p` is that
   * list, numbered under `r` ({@link ShardsPlacement.groupOf}); its copies
   * are the list, primary first. `[]` for a number that names no list, and
   * without replication.
   */
  replicas(r: Routing, p: number): readonly string[] {
    const k = this.#copyCount(r);
    if (k <= 1 || !Number.isSafeInteger(p) || p < 0) return [];
    const n = r.hosts.length;
    const out: string[] = [];
    let rest = p;
    for (let i = 0; i < k; i++) {
      const h = r.hosts[rest % n] as string;
      if (out.includes(h)) return [];
      out.push(h);
      rest = Math.floor(rest / n);
    }
    return rest === 0 ? out : [];
  }

  /** Copies per key under `r`: `replicas`, or every host when there are fewer. */
  #copyCount(r: Routing): number {
    return Math.min(this.replicationFactor, r.hosts.length);
  }

  /** The number of the replica group of the copy list `nodes` under `r` (see {@link ShardsPlacement.replicas}). */
  groupNumber(r: Routing, nodes: readonly string[]): number | undefined {
    const n = r.hosts.length;
    if (nodes.length !== this.#copyCount(r) || nodes.length <= 1) return undefined;
    let p = 0;
    let scale = 1;
    for (const h of nodes) {
      const i = r.hosts.indexOf(h);
      if (i < 0) return undefined;
      p += i * scale;
      scale *= n;
      // Past 2^53 a number would name no group (the documented bound on hosts × replicas).
      if (!Number.isSafeInteger(p) || !Number.isSafeInteger(scale)) return undefined;
    }
    return p;
  }

  /** The replica group of partition data `pd` under `r` (`-1` without replication). */
  groupOf(r: Routing, pd: Term): number {
    return (
      this.groupNumber(
        r,
        this.copiesOf(r, pd, this.replicationFactor).map((c) => c.node),
      ) ?? -1
    );
  }

  /**
   * After a view change, puts every object `self` holds where `r` says:
   * a key it is the primary of in its shard of `primary` (a backup copy
   * promoted), one it holds a backup copy of in the same shard of
   * `copies`, and drops the rest. A key found in both keeps the primary
   * side's objects (handed off or served, so the newest). Returns the
   * replica groups `self` leads.
   */
  refile(r: Routing, self: string, primary: readonly Table[], copies: readonly Table[]): Set<number> {
    const led = new Set<number>();
    const pp = this.#partitionPos;
    const hosted = r.hosts.includes(self);
    const moves: Array<{ key: Term; from: Table; to: Table | undefined; toPrimary: boolean }> = [];
    for (const tables of [primary, copies]) {
      for (const t of tables) {
        const seen = new Set<MapKey>();
        for (const e of t.entries()) {
          const key = e.obj[t.keyPos] as Term;
          const mk = keyOf(key);
          if (seen.has(mk)) continue;
          seen.add(mk);
          const list = hosted ? this.copiesOf(r, e.obj[pp] as Term, this.replicationFactor) : [];
          const at = list.findIndex((c) => c.node === self);
          if (at === 0) {
            const g = this.groupNumber(
              r,
              list.map((c) => c.node),
            );
            if (g !== undefined) led.add(g);
          }
          const to = at < 0 ? undefined : ((at === 0 ? primary : copies)[list[at]?.shard as number] as Table);
          if (to !== t) moves.push({ key, from: t, to, toPrimary: at === 0 });
        }
      }
    }
    for (const m of moves) {
      const entries = [...m.from.lookupEntries(m.key)];
      m.from.delete(m.key);
      if (m.to === undefined) continue;
      const there = m.to.lookupEntries(m.key).length > 0;
      // A backup copy that meets the primary side's objects of its key yields to them.
      if (there && m.toPrimary && !primary.includes(m.from)) continue;
      if (there) m.to.delete(m.key);
      for (const e of entries)
        m.to.insertEntry(
          e.obj,
          e.version === undefined
            ? { expiresAt: e.expiresAt }
            : { expiresAt: e.expiresAt, version: e.version },
        );
    }
    return led;
  }

  /**
   * The copies partition data `pd` would have with `count` replicas under
   * `r`, primary first: for every host, its shard that scores highest for
   * the key; hosts ranked by that score (ties as the router breaks them).
   * The first is always {@link ShardsPlacement.ownerIn}. Because the ranking
   * is rendezvous over hosts, removing the primary's host makes the second
   * copy (same node, same shard) the owner, and a membership change keeps
   * every surviving copy in its shard: a replica engine built on it needs
   * no key movement on failover, only a refill of the slots that changed.
   * With a user `hash` there is no ranking: only the owner is returned.
   */
  copiesOf(r: Routing, pd: Term, count: number): Owner[] {
    const owner = this.ownerIn(r, pd);
    if (this.#hash !== undefined || count <= 1) return [owner];
    const h = hashTerm(pd);
    const per = r.view.shards[this.#table] ?? {};
    const best: Array<{ shard: Shard; score: number }> = [];
    for (const host of r.hosts) {
      let top: { shard: Shard; score: number } | undefined;
      for (const shard of nodeShards(host, per[host] as number)) {
        const score = shardScore(shard, h);
        if (
          top === undefined ||
          score > top.score ||
          (score === top.score && compareShards(shard, top.shard) < 0)
        ) {
          top = { shard, score };
        }
      }
      if (top !== undefined) best.push(top);
    }
    best.sort((a, b) => b.score - a.score || compareShards(a.shard, b.shard));
    return best.slice(0, count).map((b) => ({ node: b.shard.node, shard: b.shard.partition }));
  }

  ownedCounts(r: Routing): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of r.hosts) out[h] = r.view.shards[this.#table]?.[h] ?? 0;
    return out;
  }

  moving(): undefined {
    return undefined;
  }

  dropUnowned(r: Routing, self: string, tables: readonly Table[]): void {
    if (!r.hosts.includes(self)) {
      for (const t of tables) clear(t);
      return;
    }
    const pp = this.#partitionPos;
    tables.forEach((t, i) => {
      const gone: Tuple[] = [];
      for (const e of t.entries()) {
        const o = this.ownerIn(r, e.obj[pp] as Term);
        if (o.node !== self || o.shard !== i) gone.push(e.obj);
      }
      for (const obj of gone) t.deleteObject(obj);
    });
  }
}
