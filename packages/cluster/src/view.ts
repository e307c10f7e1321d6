/**
 * The cluster view: who is a member, where they are, which tables each
 * member hosts (and with how many local shards), and an epoch that only
 * grows. Every peer request carries the sender's epoch; ownership is always
 * computed from a view, so two nodes with the same epoch route identically.
 */

import { isRecord } from '@supercache/router';
import { SuperCacheError, type TableType } from '@supercache/storage';

/** How a distributed table spreads keys over nodes. */
export type Placement = 'partitions' | 'shards';

/**
 * What must be identical for a table on every node that hosts it. Part of
 * the view, so a node opening a table with a different shape is refused.
 */
export interface TableSpec {
  /** Table type. */
  readonly type: TableType;
  /** Key position of every tuple. */
  readonly keyPos: number;
  /** Position of the partition data (routing term) in every tuple. */
  readonly partitionPos: number;
  /** `'partitions'` (SuperCache) or `'shards'` (PartitionedEts). */
  readonly placement: Placement;
  /** Cluster-wide partition count for `'partitions'`; `0` for `'shards'`. */
  readonly numPartitions: number;
  /**
   * Copies of every key of a `'shards'` table, primary included (1–7);
   * absent means 1. (`'partitions'` tables take the cluster's
   * `replicationFactor`.)
   */
  readonly replicas?: number;
  /** How writes of a replicated `'shards'` table reach its copies; absent means `'async'`. */
  readonly replicationMode?: 'async' | 'sync' | 'strong';
}

/** One committed view of the cluster. Plain data: it travels on the wire. */
export interface View {
  /**
   * Id of the cluster this view belongs to, minted when the cluster forms.
   * Two nodes with different ids are in different clusters (a split brain,
   * or two clusters that formed at once); see `docs/guides/distributed.md`.
   */
  readonly cluster: string;
  /** Grows by one with every committed change; never reused. */
  readonly epoch: number;
  /** Member node ids, sorted ascending. The leader is the smallest live one. */
  readonly members: readonly string[];
  /** Address of every member (a URL for HTTP, the id in memory). */
  readonly addresses: Readonly<Record<string, string>>;
  /**
   * For every table, the members hosting it and their local shard count
   * (`numPartitions` for `'partitions'` tables, the node's own `localShards`
   * for `'shards'` tables).
   */
  readonly shards: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The shape of every table (see {@link TableSpec}). */
  readonly tables: Readonly<Record<string, TableSpec>>;
  /**
   * Ids of the most recent handoffs that were committed (at most
   * {@link MAX_HANDOFF_HISTORY}); a node that missed a commit still applies
   * the data it staged for one of them.
   */
  readonly handoffs: readonly string[];
  /**
   * Primaries chosen by the leader instead of the rendezvous ranking, per
   * table and partition index: after a primary dies, the leader promotes the
   * surviving copy that applied the most (highest sequence). A promoted node
   * stays primary while it is among the partition's `replicationFactor`
   * top-ranked hosts. Absent when nothing was promoted.
   */
  readonly promoted?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** How many committed handoff ids a view remembers. */
export const MAX_HANDOFF_HISTORY = 16;

/** The six settings every member of one cluster must share (as in SuperCache). */
export interface ClusterConfig {
  /** Partitions of the default (SuperCache) table; cluster-wide. */
  readonly numPartition: number;
  /** Type of the default table. */
  readonly tableType: TableType;
  /** Copies of every object, primary included. */
  readonly replicationFactor: number;
  /** How writes reach replicas. */
  readonly replicationMode: 'async' | 'sync' | 'strong';
  /** Key position of the default table. */
  readonly keyPos: number;
  /** Partition-data position of the default table. */
  readonly partitionPos: number;
}

/** The fields of {@link ClusterConfig}, in the order they are checked. */
export const CONFIG_FIELDS: readonly (keyof ClusterConfig)[] = [
  'numPartition',
  'tableType',
  'replicationFactor',
  'replicationMode',
  'keyPos',
  'partitionPos',
];

/** Defaults of {@link ClusterConfig}. */
export const DEFAULT_CONFIG: ClusterConfig = Object.freeze({
  numPartition: 8,
  tableType: 'set',
  replicationFactor: 1,
  replicationMode: 'async',
  keyPos: 0,
  partitionPos: 0,
});

/**
 * Compares a joining node's config with the cluster's.
 * @throws SuperCacheError `SC_ERR_CONFIG_MISMATCH` naming the first field
 *   that differs and both values (`details: { field, node, cluster }`).
 */
export function checkConfig(node: ClusterConfig, cluster: ClusterConfig, nodeId: string): void {
  for (const field of CONFIG_FIELDS) {
    if (node[field] !== cluster[field]) {
      throw new SuperCacheError(
        'SC_ERR_CONFIG_MISMATCH',
        `node ${nodeId} has ${field} = ${JSON.stringify(node[field])} but the cluster has ${field} = ${JSON.stringify(cluster[field])}`,
        { details: { field, node: node[field], cluster: cluster[field] } },
      );
    }
  }
}

const SPEC_FIELDS: readonly (keyof TableSpec)[] = [
  'placement',
  'type',
  'keyPos',
  'partitionPos',
  'numPartitions',
  'replicas',
  'replicationMode',
];

/** Defaults of the optional {@link TableSpec} fields, for comparing specs. */
const SPEC_DEFAULTS: Partial<Record<keyof TableSpec, unknown>> = { replicas: 1, replicationMode: 'async' };

/**
 * Compares a node's table spec with the cluster's.
 * @throws SuperCacheError `SC_ERR_CONFIG_MISMATCH` naming the table, the field and both values.
 */
export function checkTableSpec(table: string, node: TableSpec, cluster: TableSpec, nodeId: string): void {
  for (const field of SPEC_FIELDS) {
    const mine = node[field] ?? SPEC_DEFAULTS[field];
    const theirs = cluster[field] ?? SPEC_DEFAULTS[field];
    if (mine !== theirs) {
      throw new SuperCacheError(
        'SC_ERR_CONFIG_MISMATCH',
        `table ${table}: node ${nodeId} has ${field} = ${JSON.stringify(mine)} but the cluster has ${field} = ${JSON.stringify(theirs)}`,
        { details: { table, field, node: mine, cluster: theirs } },
      );
    }
  }
}

/** The empty view a node holds before it joins (epoch 0, no members). */
export const EMPTY_VIEW: View = Object.freeze({
  cluster: '',
  epoch: 0,
  members: Object.freeze([]) as readonly string[],
  addresses: Object.freeze({}),
  shards: Object.freeze({}),
  tables: Object.freeze({}),
  handoffs: Object.freeze([]) as readonly string[],
});

/**
 * Checks that a value received from a peer is a well-formed view.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` when it is not.
 */
export function assertView(v: unknown): View {
  const bad = (why: string) => new SuperCacheError('SC_ERR_BAD_REQUEST', `malformed view: ${why}`);
  if (!isRecord(v)) throw bad('not a map');
  if (typeof v.cluster !== 'string') throw bad('bad cluster id');
  if (typeof v.epoch !== 'number' || !Number.isSafeInteger(v.epoch) || v.epoch < 0) throw bad('bad epoch');
  if (!Array.isArray(v.members) || !v.members.every((m) => typeof m === 'string' && m.length > 0)) {
    throw bad('bad members');
  }
  if (!isRecord(v.addresses) || !isRecord(v.shards) || !isRecord(v.tables)) throw bad('bad maps');
  if (!Array.isArray(v.handoffs)) throw bad('bad handoffs');
  if (v.promoted !== undefined) {
    if (!isRecord(v.promoted)) throw bad('bad promotions');
    for (const per of Object.values(v.promoted)) {
      if (!isRecord(per) || !Object.values(per).every((n) => typeof n === 'string' && n.length > 0)) {
        throw bad('bad promotions');
      }
    }
  }
  for (const s of Object.values(v.shards)) {
    if (
      !isRecord(s) ||
      !Object.values(s).every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0)
    ) {
      throw bad('bad shard counts');
    }
  }
  return v as unknown as View;
}

/** The members hosting `table`, sorted. */
export function hostsOf(view: View, table: string): string[] {
  const s = view.shards[table];
  if (s === undefined) return [];
  return view.members.filter((m) => s[m] !== undefined);
}

/** A copy of `view` with its members sorted and the derived maps pruned to members. */
export function normalizeView(view: View): View {
  const members = [...new Set(view.members)].sort();
  const set = new Set(members);
  const addresses: Record<string, string> = {};
  for (const m of members) addresses[m] = view.addresses[m] ?? m;
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) {
    const kept: Record<string, number> = {};
    for (const [n, c] of Object.entries(per)) if (set.has(n)) kept[n] = c;
    if (Object.keys(kept).length > 0) shards[t] = kept;
  }
  const out: View = {
    cluster: view.cluster,
    epoch: view.epoch,
    members,
    addresses,
    shards,
    tables: { ...view.tables },
    handoffs: view.handoffs.slice(-MAX_HANDOFF_HISTORY),
  };
  const promoted: Record<string, Record<string, string>> = {};
  for (const [t, per] of Object.entries(view.promoted ?? {})) {
    const kept: Record<string, string> = {};
    for (const [p, n] of Object.entries(per)) if (set.has(n) && shards[t]?.[n] !== undefined) kept[p] = n;
    if (Object.keys(kept).length > 0) promoted[t] = kept;
  }
  return Object.keys(promoted).length === 0 ? out : { ...out, promoted };
}

/** True when two views place `table` on the same shards with the same promotions. */
export function sameHosting(a: View, b: View, table: string): boolean {
  if (!samePromotions(a, b, table)) return false;
  const sa = a.shards[table] ?? {};
  const sb = b.shards[table] ?? {};
  const ha = hostsOf(a, table);
  const hb = hostsOf(b, table);
  if (ha.length !== hb.length) return false;
  for (let i = 0; i < ha.length; i++) {
    const n = ha[i] as string;
    if (n !== hb[i] || sa[n] !== sb[n]) return false;
  }
  return true;
}

function samePromotions(a: View, b: View, table: string): boolean {
  const pa = a.promoted?.[table] ?? {};
  const pb = b.promoted?.[table] ?? {};
  const ka = Object.keys(pa);
  if (ka.length !== Object.keys(pb).length) return false;
  return ka.every((k) => pa[k] === pb[k]);
}
