/**
 * @packageDocumentation
 * `@supercache/replication` — versions for conflict resolution: a hybrid
 * logical clock whose timestamps are fixed-width strings that sort in causal
 * order, and the last-writer-wins merge the cluster uses when data moves
 * between nodes.
 */

export type { HlcParts, HybridLogicalClockOptions, PhysicalClock } from './hlc.js';
export {
  DEFAULT_MAX_DRIFT_MS,
  formatHlc,
  HybridLogicalClock,
  MAX_DRIFT_LIMIT_MS,
  parseHlc,
} from './hlc.js';
export type { Versioned } from './lww.js';
export { compareVersions, lww, maxVersion } from './lww.js';
