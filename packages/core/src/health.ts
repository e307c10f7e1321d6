/**
 * Health of a facade (`SuperCache.health()`, `PartitionedTable.health()`):
 * the report's types, the threshold options, and the monitor that runs the
 * periodic checks and raises and clears alerts.
 *
 * Alerts are published on `node:diagnostics_channel` channel
 * `supercache:health:alert` and emitted as the facade's `healthAlert`
 * event; each check also publishes every table's replication lag on
 * `supercache:replication:progress`.
 */

import diagnostics from 'node:diagnostics_channel';
import type { ReplicaLag } from '@supercache/cluster';
import type { Clock } from '@supercache/storage';
import type { HealthThresholds } from './health-options.js';
import type { FacadeLog } from './log.js';

/**
 * Channel names of the facades' health and tracing. `handoff`, `view` and
 * `check` are the cluster's own channels (its `CHANNELS`), listed here so a
 * local-mode application need not load `@supercache/cluster` to name them.
 */
export const HEALTH_CHANNELS: Readonly<{
  alert: 'supercache:health:alert';
  replication: 'supercache:replication:progress';
  operation: 'supercache:operation';
  handoff: 'supercache:handoff:progress';
  view: 'supercache:cluster:view';
  check: 'supercache:health:check';
}> = Object.freeze({
  alert: 'supercache:health:alert',
  replication: 'supercache:replication:progress',
  /** A `tracingChannel` name: subscribe with `diagnostics_channel.tracingChannel('supercache:operation')`. */
  operation: 'supercache:operation',
  handoff: 'supercache:handoff:progress',
  view: 'supercache:cluster:view',
  check: 'supercache:health:check',
});

const alertChannel = diagnostics.channel(HEALTH_CHANNELS.alert);
const replicationChannel = diagnostics.channel(HEALTH_CHANNELS.replication);

// ---------------------------------------------------------------------------
// The report

/** One member in {@link CacheHealth.nodes}. */
export interface NodeHealth {
  readonly id: string;
  readonly address: string;
  /** `'up'` for this node and for peers heard from within the failure timeout. */
  readonly status: 'up' | 'down';
  /** True for the node answering. */
  readonly self: boolean;
  /** Last heartbeat round-trip in ms (`0` for this node, `-1` when never measured). */
  readonly rttMs: number;
  /** Smoothed round-trip in ms (`-1` when never measured). */
  readonly rttAvgMs: number;
  /** Milliseconds since this node last heard from the member (`0` for itself, `-1` never). */
  readonly lastContactMsAgo: number;
}

/** Replication of one table, as this node sees it. */
export interface ReplicationHealth {
  readonly placement: 'partitions' | 'shards';
  /** Copies wanted per partition, primary included. */
  readonly factor: number;
  /** Copies each partition has. */
  readonly copies: number;
  /** `copies - 1`: backups per partition. */
  readonly replicas: number;
  /** `factor - copies`. */
  readonly shortfall: number;
  /** True while partitions have no backup (one copy): there is no lag to measure. */
  readonly zeroCopy: boolean;
  readonly mode: 'async' | 'sync' | 'strong';
  /** Highest lag over the backups of partitions this node leads. */
  readonly maxLagRecords: number;
  readonly maxLagMs: number;
  /** Backups (of partitions this node leads) not in sync. */
  readonly outOfSync: number;
  /** Lag per backup of each partition this node leads. */
  readonly partitions: readonly ReplicaLag[];
  /** Why there is no lag to show, when there is none. */
  readonly note?: string;
}

/** How evenly one table is spread. */
export interface BalanceHealth {
  readonly placement: 'partitions' | 'shards';
  /** Partitions (or shards) owned per node. */
  readonly owned: Readonly<Record<string, number>>;
  readonly mean: number;
  readonly stdDev: number;
  /** `stdDev / mean` (0 with one node); compared with the `imbalance` threshold. */
  readonly imbalance: number;
}

/** Kinds of {@link HealthAlert}. */
export type HealthAlertKind = 'node_down' | 'latency' | 'replication_lag' | 'error_rate' | 'imbalance';

/**
 * A threshold crossed (`state: 'raised'`) or back within bounds
 * (`'cleared'`). Published on `supercache:health:alert` and emitted as
 * `healthAlert`; the raised ones are listed in {@link CacheHealth.alerts}.
 */
export interface HealthAlert {
  /** `kind:subject`, stable while the condition lasts. */
  readonly key: string;
  readonly kind: HealthAlertKind;
  readonly state: 'raised' | 'cleared';
  /** The node reporting. */
  readonly node: string;
  /** What the alert is about: a member id, a table name, or the reporting node (error rate). */
  readonly subject: string;
  /** The measured value (ms, a rate, a coefficient). */
  readonly value: number;
  /** The threshold it is compared with. */
  readonly threshold: number;
  readonly message: string;
  /** When the alert was raised (clock ms). */
  readonly raisedAt: number;
  /** When this event happened (clock ms). */
  readonly at: number;
}

/** What `health()` and `forceCheck()` return. */
export interface CacheHealth {
  /** `'degraded'` while an alert is raised. */
  readonly status: 'ok' | 'degraded';
  readonly mode: 'local' | 'distributed';
  readonly node: string;
  /** The node's lifecycle state (`'running'` in local mode). */
  readonly nodeStatus: 'stopped' | 'joining' | 'running' | 'leaving';
  /** View epoch (0 in local mode). */
  readonly epoch: number;
  readonly leader: string | undefined;
  readonly nodes: readonly NodeHealth[];
  /** Per table (SuperCache: `main`, `kv`, `sys`). */
  readonly replication: Readonly<Record<string, ReplicationHealth>>;
  /** Per table (SuperCache: `main` only; `kv` and `sys` share its partition map). */
  readonly balance: Readonly<Record<string, BalanceHealth>>;
  /** Failed over all routed operations since the previous check (0 when none ran). */
  readonly errorRate: number;
  /** Routed operations since the previous check. */
  readonly operations: { readonly ok: number; readonly failed: number };
  readonly handoff: {
    readonly active: boolean;
    readonly committed: number;
    readonly aborted: number;
    readonly lastDurationMs: number;
    readonly lastEntries: number;
  };
  /** Alerts raised and not cleared, as of the last check. */
  readonly alerts: readonly HealthAlert[];
  readonly thresholds: HealthThresholds;
  /** Facts about what the report cannot show (local mode, zero-copy). */
  readonly notes: readonly string[];
  /** When the last check ran (clock ms); `undefined` before the first. */
  readonly checkedAt: number | undefined;
  /** When this report was made (clock ms). */
  readonly at: number;
}

/** What a facade measures; the monitor adds the alerts, the thresholds and the error window. */
export type HealthSnapshot = Omit<
  CacheHealth,
  'status' | 'alerts' | 'thresholds' | 'checkedAt' | 'errorRate' | 'operations'
> & {
  /** Routed operations since the node started (cumulative counters). */
  readonly totals: { readonly ok: number; readonly failed: number };
};

/** A condition found by a check: an alert to hold raised. */
interface Condition {
  readonly kind: HealthAlertKind;
  readonly subject: string;
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
}

/** Conditions of one snapshot under the thresholds. Exported for tests of the rules. */
export function evaluateHealth(
  s: HealthSnapshot,
  errors: { ok: number; failed: number },
  t: HealthThresholds,
): Condition[] {
  const out: Condition[] = [];
  for (const n of s.nodes) {
    if (n.self) continue;
    if (n.status === 'down') {
      out.push({
        kind: 'node_down',
        subject: n.id,
        value: n.lastContactMsAgo,
        threshold: 0,
        message: `member ${n.id} is unreachable (last contact ${n.lastContactMsAgo} ms ago)`,
      });
      continue;
    }
    const rtt = n.rttAvgMs >= 0 ? n.rttAvgMs : n.rttMs;
    if (rtt >= 0 && rtt > t.latencyMs) {
      out.push({
        kind: 'latency',
        subject: n.id,
        value: rtt,
        threshold: t.latencyMs,
        message: `round-trip to ${n.id} is ${rtt.toFixed(1)} ms (threshold ${t.latencyMs} ms)`,
      });
    }
  }
  for (const [table, r] of Object.entries(s.replication)) {
    if (r.maxLagMs > t.lagMs) {
      out.push({
        kind: 'replication_lag',
        subject: table,
        value: r.maxLagMs,
        threshold: t.lagMs,
        message: `table ${table}: a backup lags ${r.maxLagMs} ms, ${r.maxLagRecords} records (threshold ${t.lagMs} ms)`,
      });
    }
  }
  const total = errors.ok + errors.failed;
  const rate = total === 0 ? 0 : errors.failed / total;
  if (rate > t.errorRate) {
    out.push({
      kind: 'error_rate',
      subject: s.node,
      value: rate,
      threshold: t.errorRate,
      message: `${errors.failed} of ${total} routed operations failed since the last check (threshold ${t.errorRate})`,
    });
  }
  for (const [table, b] of Object.entries(s.balance)) {
    if (b.imbalance > t.imbalance) {
      out.push({
        kind: 'imbalance',
        subject: table,
        value: b.imbalance,
        threshold: t.imbalance,
        message: `table ${table}: partitions per node vary by ${b.imbalance.toFixed(2)} of the mean (threshold ${t.imbalance})`,
      });
    }
  }
  return out;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  readonly thresholds: HealthThresholds;
  /** Measures the facade now. */
  readonly snapshot: () => HealthSnapshot;
  /** Called with every raised or cleared alert (the facade emits `healthAlert`). */
  readonly onAlert: (alert: HealthAlert) => void;
  /** Called with the report of every check (the facade emits `healthCheck`). */
  readonly onCheck: (report: CacheHealth) => void;
  readonly log: FacadeLog;
  readonly clock?: Clock | undefined;
}

/** Runs a facade's health checks and keeps its raised alerts. */
export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  readonly #active = new Map<string, HealthAlert>();
  #thresholds: HealthThresholds;
  #running = false;
  #base = { ok: 0, failed: 0 };
  #checkedAt: number | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: HealthMonitorOptions) {
    this.#o = options;
    this.#thresholds = options.thresholds;
  }

  /** The thresholds in force. */
  get thresholds(): HealthThresholds {
    return this.#thresholds;
  }

  /**
   * Replaces the thresholds (already validated); the next check compares
   * with them. A new interval restarts the timer of a started monitor.
   */
  reconfigure(thresholds: HealthThresholds): void {
    const restart = this.#running && thresholds.intervalMs !== this.#thresholds.intervalMs;
    this.#thresholds = thresholds;
    if (restart) {
      this.#clearTimer();
      this.#arm();
    }
  }

  /** Starts the periodic checks (none with `intervalMs: 0`). Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#base = { ...this.#o.snapshot().totals };
    this.#arm();
  }

  #arm(): void {
    const ms = this.#thresholds.intervalMs;
    if (ms === 0) return;
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch (e) {
        this.#o.log.debug('health check failed', { error: e instanceof Error ? e.message : String(e) });
      }
    }, ms);
    this.#timer.unref();
  }

  /** Stops the periodic checks. Idempotent. */
  stop(): void {
    this.#running = false;
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #now(): number {
    return this.#o.clock?.now() ?? Date.now();
  }

  #window(totals: { ok: number; failed: number }): { ok: number; failed: number } {
    return {
      ok: Math.max(0, totals.ok - this.#base.ok),
      failed: Math.max(0, totals.failed - this.#base.failed),
    };
  }

  #report(s: HealthSnapshot, ops: { ok: number; failed: number }): CacheHealth {
    const { totals: _totals, ...rest } = s;
    const total = ops.ok + ops.failed;
    const alerts = [...this.#active.values()];
    return {
      ...rest,
      status: alerts.length === 0 ? 'ok' : 'degraded',
      errorRate: total === 0 ? 0 : ops.failed / total,
      operations: ops,
      alerts,
      thresholds: this.#thresholds,
      checkedAt: this.#checkedAt,
    };
  }

  /** The report now, with the alerts of the last check; raises and clears nothing. */
  health(): CacheHealth {
    const s = this.#o.snapshot();
    return this.#report(s, this.#window(s.totals));
  }

  /**
   * Checks now: compares the report with the thresholds, raises alerts for
   * conditions that appeared, clears those that ended, starts a new error
   * window, and publishes every table's replication lag.
   */
  check(): CacheHealth {
    const s = this.#o.snapshot();
    const ops = this.#window(s.totals);
    const now = this.#now();
    const found = evaluateHealth(s, ops, this.#thresholds);
    const seen = new Set<string>();
    const events: HealthAlert[] = [];
    for (const c of found) {
      const key = `${c.kind}:${c.subject}`;
      seen.add(key);
      const prior = this.#active.get(key);
      const alert: HealthAlert = {
        key,
        ...c,
        state: 'raised',
        node: s.node,
        raisedAt: prior?.raisedAt ?? now,
        at: prior?.at ?? now,
      };
      this.#active.set(key, alert);
      if (prior === undefined) events.push(alert);
    }
    for (const [key, prior] of this.#active) {
      if (seen.has(key)) continue;
      this.#active.delete(key);
      events.push({
        ...prior,
        state: 'cleared',
        message: `cleared: ${prior.message}`,
        at: now,
      });
    }
    this.#base = { ...s.totals };
    this.#checkedAt = now;
    const report = this.#report(s, ops);
    this.#o.log.debug('health check', { status: report.status, alerts: report.alerts.length });
    for (const e of events) this.#publish(e);
    if (replicationChannel.hasSubscribers) {
      for (const [table, r] of Object.entries(s.replication)) {
        replicationChannel.publish({
          node: s.node,
          table,
          copies: r.copies,
          maxLagRecords: r.maxLagRecords,
          maxLagMs: r.maxLagMs,
          outOfSync: r.outOfSync,
          partitions: r.partitions,
          at: now,
        } satisfies ReplicationProgressEvent);
      }
    }
    try {
      this.#o.onCheck(report);
    } catch (e) {
      this.#o.log.debug('a healthCheck listener threw', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
    return report;
  }

  #publish(alert: HealthAlert): void {
    if (alert.state === 'raised') this.#o.log.warn(alert.message, { alert: alert.key });
    else this.#o.log.info(alert.message, { alert: alert.key });
    if (alertChannel.hasSubscribers) alertChannel.publish(alert);
    try {
      this.#o.onAlert(alert);
    } catch (e) {
      this.#o.log.debug('a healthAlert listener threw', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
}

/** Published on `supercache:replication:progress` at every check, per table. */
export interface ReplicationProgressEvent {
  readonly node: string;
  readonly table: string;
  readonly copies: number;
  readonly maxLagRecords: number;
  readonly maxLagMs: number;
  readonly outOfSync: number;
  readonly partitions: readonly ReplicaLag[];
  readonly at: number;
}

/** The health events of SuperCache and PartitionedTable (both are EventEmitters of these). */
export interface HealthEvents {
  /** An alert was raised or cleared. */
  healthAlert: [alert: HealthAlert];
  /** A check ran (periodic or `forceCheck()`). */
  healthCheck: [report: CacheHealth];
}
