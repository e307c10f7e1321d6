/**
 * Builds a facade's {@link HealthSnapshot}: from the cluster node's health
 * report in distributed mode, or the one-node, one-copy picture of local
 * mode.
 */

import type { HealthReport } from '@supercache/cluster';
import type { ReplicationMode } from './backend.js';
import type { BalanceHealth, HealthSnapshot, ReplicationHealth } from './health.js';

/** What a local-mode report says about replication. */
export const LOCAL_NOTE =
  'local mode: one node holds the only copy of every partition; no replicas (zero-copy), so no replication lag, no peers and no routed operations to fail';

/** Notes of a distributed table with one copy per partition. */
function zeroCopyNote(table: string, factor: number, placement: 'partitions' | 'shards'): string {
  return placement === 'shards'
    ? `${table}: one copy of each key (PartitionedTable replicas ${factor}, or too few nodes): zero-copy, no lag to measure`
    : `${table}: one copy per partition (replicationFactor ${factor}, or too few nodes): zero-copy, no lag to measure`;
}

/**
 * A local-mode snapshot: this node owns every partition of `tables`; the
 * first of `tables` is the one whose balance is reported.
 */
export function localSnapshot(
  node: string,
  tables: readonly string[],
  partitions: number,
  placement: 'partitions' | 'shards',
  mode: ReplicationMode,
  now: number,
): HealthSnapshot {
  const replication: Record<string, ReplicationHealth> = {};
  for (const t of tables) {
    replication[t] = {
      placement,
      factor: 1,
      copies: 1,
      replicas: 0,
      shortfall: 0,
      zeroCopy: true,
      mode,
      maxLagRecords: 0,
      maxLagMs: 0,
      outOfSync: 0,
      partitions: [],
      note: LOCAL_NOTE,
    };
  }
  const balance: Record<string, BalanceHealth> = {};
  const first = tables[0];
  if (first !== undefined) {
    balance[first] = { placement, owned: { [node]: partitions }, mean: partitions, stdDev: 0, imbalance: 0 };
  }
  return {
    mode: 'local',
    node,
    nodeStatus: 'running',
    epoch: 0,
    leader: node,
    nodes: [
      { id: node, address: 'local', status: 'up', self: true, rttMs: 0, rttAvgMs: 0, lastContactMsAgo: 0 },
    ],
    replication,
    balance,
    handoff: { active: false, committed: 0, aborted: 0, lastDurationMs: 0, lastEntries: 0 },
    notes: [LOCAL_NOTE],
    totals: { ok: 0, failed: 0 },
    at: now,
  };
}

/**
 * A distributed snapshot from the node's report. `tables` maps the names the
 * facade shows to the cluster's table names; balance is shown for the names
 * in `balanced` only.
 */
export function clusterSnapshot(
  report: HealthReport,
  tables: Readonly<Record<string, string>>,
  balanced: readonly string[],
): HealthSnapshot {
  const replication: Record<string, ReplicationHealth> = {};
  const balance: Record<string, BalanceHealth> = {};
  const notes: string[] = [];
  for (const [shown, name] of Object.entries(tables)) {
    const r = report.replication[name];
    if (r !== undefined) {
      const zeroCopy = r.copies <= 1;
      const note = zeroCopy ? zeroCopyNote(shown, r.factor, r.placement) : undefined;
      if (note !== undefined) notes.push(note);
      replication[shown] = {
        placement: r.placement,
        factor: r.factor,
        copies: r.copies,
        replicas: Math.max(0, r.copies - 1),
        shortfall: r.shortfall,
        zeroCopy,
        mode: r.mode,
        maxLagRecords: r.maxLagRecords,
        maxLagMs: r.maxLagMs,
        outOfSync: r.outOfSync,
        partitions: r.lag,
        ...(note === undefined ? {} : { note }),
      };
    }
    const b = report.balance[name];
    if (b !== undefined && balanced.includes(shown)) {
      balance[shown] = {
        placement: b.placement,
        owned: b.owned,
        mean: b.mean,
        stdDev: b.stdDev,
        imbalance: b.mean > 0 ? b.stdDev / b.mean : 0,
      };
    }
  }
  return {
    mode: 'distributed',
    node: report.node,
    nodeStatus: report.status,
    epoch: report.epoch,
    leader: report.leader,
    nodes: report.members.map((m) => ({
      id: m.id,
      address: m.address,
      status: m.alive ? 'up' : 'down',
      self: m.id === report.node,
      rttMs: m.rttMs,
      rttAvgMs: m.rttAvgMs,
      lastContactMsAgo: m.lastSeenMsAgo,
    })),
    replication,
    balance,
    handoff: {
      active: report.handoff.active,
      committed: report.handoff.committed,
      aborted: report.handoff.aborted,
      lastDurationMs: report.handoff.lastDurationMs,
      lastEntries: report.handoff.lastEntries,
    },
    notes,
    totals: { ok: report.stats.opsOk, failed: report.stats.opsFailed },
    at: report.at,
  };
}
