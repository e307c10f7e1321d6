/**
 * Builds a node's health report from its view, failure detector, tables and
 * counters.
 */

import type { DistributedTable } from './distributed-table.js';
import {
  type HealthReport,
  type MemberHealth,
  meanStdDev,
  type TableBalance,
  type TableReplication,
} from './health.js';
import type { NodeContext } from './node-context.js';

/** A health report of the node behind `ctx`; `changing` is true while it leads a view change. */
export function buildHealthReport(ctx: NodeContext, changing: boolean): HealthReport {
  const now = ctx.settings.clock.now();
  const view = ctx.view;
  const self = ctx.nodeId;
  const members: MemberHealth[] = view.members.map((id) => {
    const rtt = ctx.detector.rtt(id);
    const since = ctx.detector.sinceSeen(id);
    return {
      id,
      address: view.addresses[id] ?? id,
      alive: ctx.detector.alive(id),
      rttMs: id === self ? 0 : (rtt?.last ?? -1),
      rttAvgMs: id === self ? 0 : (rtt?.avg ?? -1),
      lastSeenMsAgo: id === self ? 0 : (since ?? -1),
    };
  });
  const balance: Record<string, TableBalance> = {};
  const replication: Record<string, TableReplication> = {};
  const tables: DistributedTable[] = [...ctx.tables.values()];
  for (const t of tables) {
    const owned = t.ownedCounts(view);
    const { mean, stdDev } = meanStdDev(Object.values(owned));
    balance[t.name] = { placement: t.spec.placement, owned, mean, stdDev, localObjects: t.ownedSize(view) };
    replication[t.name] = tableReplication(ctx, t);
  }
  const c = ctx.counters;
  const total = c.opsOk + c.opsFailed;
  return {
    node: self,
    status: ctx.status,
    epoch: view.epoch,
    leader: ctx.leader,
    members,
    balance,
    successRate: total === 0 ? 1 : c.opsOk / total,
    handoff: {
      active: changing || tables.some((t) => t.handingOff),
      committed: c.handoffs,
      aborted: c.handoffsAborted,
      entriesSent: c.handoffEntriesSent,
      entriesReceived: c.handoffEntriesReceived,
      lastDurationMs: c.lastHandoffMs,
      lastEntries: c.lastHandoffEntries,
    },
    replication,
    stats: { ...c },
    at: now,
  };
}

function tableReplication(ctx: NodeContext, t: DistributedTable): TableReplication {
  // A 'shards' table has its own `replicas` (one copy without it).
  const shards = t.spec.placement === 'shards';
  const factor = shards ? (t.spec.replicas ?? 1) : ctx.settings.config.replicationFactor;
  const hosts = t.hosts(ctx.view).length;
  const copies = Math.min(factor, hosts);
  const lag = t.replicator?.lag() ?? [];
  let maxLagRecords = 0;
  let maxLagMs = 0;
  let outOfSync = 0;
  for (const l of lag) {
    if (l.records > maxLagRecords) maxLagRecords = l.records;
    if (l.ms > maxLagMs) maxLagMs = l.ms;
    if (!l.inSync) outOfSync++;
  }
  const held = t.replicator?.copySeqs() ?? {};
  const primaries = t.ownedShards(ctx.view).length;
  return {
    placement: t.spec.placement,
    factor,
    copies,
    shortfall: Math.max(0, factor - copies),
    mode: t.replicationMode,
    hosts,
    primaries,
    // A replicated 'shards' table counts replica groups held as a backup.
    backups:
      t.replicator === undefined
        ? 0
        : Math.max(0, Object.keys(held).length - (shards ? t.replicator.led().length : primaries)),
    maxLagRecords,
    maxLagMs,
    outOfSync,
    lag,
  };
}
