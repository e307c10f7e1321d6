/**
 * Prometheus metrics of one node, on a registry of its own (so several
 * servers in one process, as in tests, never collide).
 *
 * Cache and cluster figures are read once per scrape — `SuperCache.stats()`
 * for this node's tables, the cluster node's `health()` for membership,
 * RTT, routing and handoff counters — and mirrored into the metrics; the
 * HTTP histogram is observed on every response.
 */

import type { SuperCache, SuperCacheStats } from '@supercache/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterSource, NodeHealthReport } from './cluster-source.js';

/** Names of every metric this module defines (besides the process defaults). */
export const METRIC_NAMES: readonly string[] = [
  'supercache_cache_hits_total',
  'supercache_cache_misses_total',
  'supercache_cache_inserts_total',
  'supercache_cache_deletes_total',
  'supercache_cache_expirations_total',
  'supercache_cache_evictions_total',
  'supercache_cache_size',
  'supercache_cache_memory_bytes',
  'supercache_structures_size',
  'supercache_cluster_members',
  'supercache_cluster_epoch',
  'supercache_cluster_up',
  'supercache_partitions_owned',
  'supercache_remote_calls_total',
  'supercache_redirects_total',
  'supercache_retries_total',
  'supercache_routed_ops_total',
  'supercache_handoffs_total',
  'supercache_handoff_entries_sent_total',
  'supercache_handoff_entries_received_total',
  'supercache_handoff_active',
  'supercache_peer_rtt_seconds',
  'supercache_replication_lag_records',
  'supercache_replication_lag_seconds',
  'supercache_replication_shortfall',
  'supercache_replicas_out_of_sync',
  'supercache_http_request_duration_seconds',
];

interface Snapshot {
  stats: SuperCacheStats | undefined;
  health: NodeHealthReport | undefined;
}

/** Sets a counter to an absolute value read from elsewhere (the counter only grows there). */
function mirror(counter: Counter, value: number, labels?: Record<string, string>): void {
  if (labels === undefined) {
    counter.reset();
    counter.inc(value);
  } else {
    counter.inc(labels, value);
  }
}

/** The metrics of one node server. */
export class NodeMetrics {
  /** The registry `/metrics` renders. */
  readonly registry: Registry = new Registry();
  /** Observed by the server on every response. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly #cache: SuperCache;
  readonly #cluster: ClusterSource | undefined;
  #snapshot: Snapshot = { stats: undefined, health: undefined };

  constructor(cache: SuperCache, cluster: ClusterSource | undefined, nodeId: string) {
    this.#cache = cache;
    this.#cluster = cluster;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    collectDefaultMetrics({ register: this.registry, prefix: 'supercache_node_' });
    const snap = () => this.#snapshot;

    const totals = (name: string, help: string, pick: (s: SuperCacheStats['totals']) => number): Counter => {
      return new Counter({
        name,
        help,
        registers,
        collect() {
          const s = snap().stats;
          if (s !== undefined) mirror(this, pick(s.totals));
        },
      });
    };
    totals('supercache_cache_hits_total', 'Lookups that found a key, on this node’s tables.', (t) => t.hits);
    totals(
      'supercache_cache_misses_total',
      'Lookups that found nothing, on this node’s tables.',
      (t) => t.misses,
    );
    totals('supercache_cache_inserts_total', 'Objects written on this node’s tables.', (t) => t.inserts);
    totals('supercache_cache_deletes_total', 'Objects deleted on this node’s tables.', (t) => t.deletes);
    totals(
      'supercache_cache_expirations_total',
      'Objects removed by TTL on this node.',
      (t) => t.expirations,
    );
    totals(
      'supercache_cache_evictions_total',
      'Objects evicted by size limits on this node.',
      (t) => t.evictions,
    );
    new Gauge({
      name: 'supercache_cache_size',
      help: 'Tuples held in this node’s copy of the tuple table.',
      registers,
      collect() {
        const s = snap().stats;
        if (s !== undefined) this.set(s.totals.size);
      },
    });
    new Gauge({
      name: 'supercache_cache_memory_bytes',
      help: 'Estimated bytes of the tuples held on this node.',
      registers,
      collect() {
        const s = snap().stats;
        if (s !== undefined) this.set(s.totals.memory);
      },
    });
    new Gauge({
      name: 'supercache_structures_size',
      help: 'Records of the structures (kv: KeyValue; sys: queues, stacks, structs) on this node.',
      labelNames: ['table'],
      registers,
      collect() {
        const s = snap().stats;
        if (s === undefined) return;
        this.set({ table: 'kv' }, s.structures.kv);
        this.set({ table: 'sys' }, s.structures.sys);
      },
    });

    const health = () => snap().health;
    new Gauge({
      name: 'supercache_cluster_members',
      help: 'Members in this node’s view of the cluster.',
      registers,
      collect() {
        this.set(health()?.members.length ?? 1);
      },
    });
    new Gauge({
      name: 'supercache_cluster_epoch',
      help: 'Epoch of this node’s view (grows with every membership change).',
      registers,
      collect() {
        this.set(health()?.epoch ?? 0);
      },
    });
    const self = this.#cache;
    new Gauge({
      name: 'supercache_cluster_up',
      help: '1 when the node is running (joined, not leaving), else 0.',
      registers,
      collect() {
        const h = health();
        this.set((h === undefined ? self.started : h.status === 'running') ? 1 : 0);
      },
    });
    new Gauge({
      name: 'supercache_partitions_owned',
      help: 'Partitions (or shards) of each table this node owns.',
      labelNames: ['table'],
      registers,
      collect() {
        this.reset();
        const h = health();
        if (h === undefined) {
          const s = snap().stats;
          if (s !== undefined) this.set({ table: 'main' }, s.numPartition);
          return;
        }
        for (const [table, b] of Object.entries(h.balance)) this.set({ table }, b.owned[h.node] ?? 0);
      },
    });
    const clusterCounter = (name: string, help: string, pick: (h: NodeHealthReport) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const h = health();
          mirror(this, h === undefined ? 0 : pick(h));
        },
      });
    };
    clusterCounter(
      'supercache_remote_calls_total',
      'Peer calls made for routed operations.',
      (h) => h.stats.remoteCalls,
    );
    clusterCounter(
      'supercache_redirects_total',
      'Not-owner / stale-epoch answers received (each one a retry under a newer view).',
      (h) => h.stats.redirects,
    );
    clusterCounter(
      'supercache_retries_total',
      'Routed attempts repeated after a redirect or wait.',
      (h) => h.stats.retries,
    );
    new Counter({
      name: 'supercache_routed_ops_total',
      help: 'Routed operations by outcome.',
      labelNames: ['outcome'],
      registers,
      collect() {
        this.reset();
        const h = health();
        mirror(this, h?.stats.opsOk ?? 0, { outcome: 'ok' });
        mirror(this, h?.stats.opsFailed ?? 0, { outcome: 'failed' });
      },
    });
    clusterCounter(
      'supercache_handoffs_total',
      'Handoffs this node committed as leader.',
      (h) => h.handoff.committed,
    );
    clusterCounter(
      'supercache_handoff_entries_sent_total',
      'Entries this node streamed out as a handoff source.',
      (h) => h.handoff.entriesSent,
    );
    clusterCounter(
      'supercache_handoff_entries_received_total',
      'Entries this node staged as a handoff target.',
      (h) => h.handoff.entriesReceived,
    );
    new Gauge({
      name: 'supercache_handoff_active',
      help: '1 while a handoff involving this node is in progress.',
      registers,
      collect() {
        this.set(health()?.handoff.active === true ? 1 : 0);
      },
    });
    const replicationGauge = (
      name: string,
      help: string,
      pick: (r: NonNullable<NodeHealthReport['replication']>[string]) => number,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: ['table'],
        registers,
        collect() {
          this.reset();
          const r = health()?.replication;
          if (r === undefined) return;
          for (const [table, t] of Object.entries(r)) this.set({ table }, pick(t));
        },
      });
    };
    replicationGauge(
      'supercache_replication_lag_records',
      'Highest number of records a backup of a partition this node leads has not acknowledged.',
      (t) => t.maxLagRecords,
    );
    replicationGauge(
      'supercache_replication_lag_seconds',
      'Age of the oldest record a backup of a partition this node leads has not acknowledged.',
      (t) => t.maxLagMs / 1000,
    );
    replicationGauge(
      'supercache_replication_shortfall',
      'Copies per partition missing from the replication factor (too few hosts, or not replicated).',
      (t) => t.shortfall,
    );
    replicationGauge(
      'supercache_replicas_out_of_sync',
      'Backups of partitions this node leads that are catching up or being resynced.',
      (t) => t.outOfSync,
    );
    new Gauge({
      name: 'supercache_peer_rtt_seconds',
      help: 'Last heartbeat round-trip to each peer, in seconds.',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        const h = health();
        if (h === undefined) return;
        for (const m of h.members) {
          if (m.id === h.node || m.rttMs < 0) continue;
          this.set({ peer: m.id }, m.rttMs / 1000);
        }
      },
    });
    this.httpDuration = new Histogram({
      name: 'supercache_http_request_duration_seconds',
      help: 'Duration of HTTP requests served by this node, by route.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Reads the cache's stats and the node's health, then renders every metric. */
  async render(): Promise<string> {
    let stats: SuperCacheStats | undefined;
    try {
      stats = this.#cache.started ? await this.#cache.stats() : undefined;
    } catch {
      stats = undefined;
    }
    this.#snapshot = { stats, health: this.#cluster?.health() };
    return this.registry.metrics();
  }

  /** The content type of {@link NodeMetrics.render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
