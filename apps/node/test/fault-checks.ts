/**
 * What every fault test asserts of a {@link FaultReport}: nothing
 * acknowledged lost, no stale read, no miss, no phantom, and a load that
 * really ran. Shared by the process and the network-namespace fault tests.
 */

import { expect } from 'vitest';
import type { FaultReport } from './fault-load.js';
import type { ProcessCluster } from './process-cluster.js';

/** The report's counters on one line, for logs and failure messages. */
export function summary(r: FaultReport): string {
  return JSON.stringify({
    acked: r.writesAcked,
    unknown: r.writesUnknown,
    reads: r.reads,
    readsFailed: r.readsFailed,
    retries: r.retries,
    errors: r.errors,
  });
}

/** Fails with the report and the nodes' logs unless the run was clean. */
export function expectClean(c: ProcessCluster, r: FaultReport): void {
  const context = `${summary(r)}\n${c.logs()}`;
  expect(r.fatal, context).toEqual([]);
  expect(r.finalsFailed, context).toBe(0);
  expect(r.lost, context).toEqual([]);
  expect(r.staleReads, context).toEqual([]);
  expect(r.misses, context).toEqual([]);
  expect(r.phantoms, context).toEqual([]);
  expect(r.writesAcked, context).toBeGreaterThan(100);
  expect(r.reads, context).toBeGreaterThan(100);
}
