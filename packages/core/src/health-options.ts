/**
 * The `health` option of SuperCache and PartitionedTable: the periodic
 * check's interval and the alert thresholds, with the seed's defaults.
 */

import { badConfig } from './errors.js';

/** Options of the health monitor (`health` option of SuperCache and PartitionedTable). */
export interface HealthOptions {
  /**
   * Interval of the periodic checks in ms; `0` checks only on
   * `forceCheck()`. The timer does not keep the process alive.
   * @defaultValue 5000
   */
  intervalMs?: number;
  /** A peer whose heartbeat round-trip (smoothed) exceeds this many ms raises a `latency` alert. @defaultValue 100 */
  latencyMs?: number;
  /** A table whose oldest unacknowledged replication record is older than this many ms raises `replication_lag`. @defaultValue 500 */
  lagMs?: number;
  /**
   * Failed routed operations over all routed operations since the previous
   * check, from 0 to 1; above it raises `error_rate`. @defaultValue 0.05
   */
  errorRate?: number;
  /**
   * Coefficient of variation (standard deviation / mean) of the partitions
   * owned per node; above it raises `imbalance`. @defaultValue 0.3
   */
  imbalance?: number;
}

/** The validated thresholds, defaults filled in. */
export interface HealthThresholds {
  readonly intervalMs: number;
  readonly latencyMs: number;
  readonly lagMs: number;
  readonly errorRate: number;
  readonly imbalance: number;
}

/** The seed's defaults. */
export const DEFAULT_HEALTH: HealthThresholds = Object.freeze({
  intervalMs: 5000,
  latencyMs: 100,
  lagMs: 500,
  errorRate: 0.05,
  imbalance: 0.3,
});

const HEALTH_KEYS = new Set<string>(Object.keys(DEFAULT_HEALTH));

function numberOption(owner: string, field: string, v: unknown, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw badConfig(owner, field, `a number from 0 to ${max}`, v);
  }
  return v;
}

/**
 * Validates a `health` option; fields left out keep their value in `base`
 * (the seed's defaults unless given).
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the field (`health.lagMs`, …).
 */
export function resolveHealthOptions(
  owner: string,
  v: unknown,
  base: HealthThresholds = DEFAULT_HEALTH,
): HealthThresholds {
  if (v === undefined) return base;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badConfig(owner, 'health', 'an object of health-check thresholds', v);
  }
  for (const k of Object.keys(v)) {
    if (!HEALTH_KEYS.has(k)) {
      throw badConfig(
        owner,
        `health.${k}`,
        `a known option (${[...HEALTH_KEYS].join(', ')})`,
        (v as Record<string, unknown>)[k],
      );
    }
  }
  const o = v as Record<string, unknown>;
  const intervalMs = o.intervalMs;
  if (
    intervalMs !== undefined &&
    (typeof intervalMs !== 'number' ||
      !Number.isInteger(intervalMs) ||
      intervalMs < 0 ||
      intervalMs > 2 ** 31 - 1)
  ) {
    throw badConfig(owner, 'health.intervalMs', `an integer from 0 to ${2 ** 31 - 1}`, intervalMs);
  }
  const d = base;
  return Object.freeze({
    intervalMs: (intervalMs as number | undefined) ?? d.intervalMs,
    latencyMs: numberOption(owner, 'health.latencyMs', o.latencyMs, d.latencyMs, Number.MAX_SAFE_INTEGER),
    lagMs: numberOption(owner, 'health.lagMs', o.lagMs, d.lagMs, Number.MAX_SAFE_INTEGER),
    errorRate: numberOption(owner, 'health.errorRate', o.errorRate, d.errorRate, 1),
    imbalance: numberOption(owner, 'health.imbalance', o.imbalance, d.imbalance, Number.MAX_SAFE_INTEGER),
  });
}
