/**
 * A bounded load loop for replication tests, and the model it is checked
 * against. Keys are split among writers, so each key's writes are
 * sequential and carry increasing values: a read is stale when it returns
 * a value older than the last write acknowledged before the read began, a
 * miss when it returns nothing for a key with an acknowledged write, and a
 * write is lost when the final read of its key returns an older value.
 * Writes that failed with an unknown outcome may or may not have applied.
 */

import { SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import { expect } from 'vitest';
import type { MemoryCluster } from './cluster-memory-harness.js';

/** The operations the loop drives on one node. */
export interface LoadTarget {
  insert(obj: Tuple): Promise<unknown>;
  lookup(key: Term, options?: { readMode?: 'local' | 'primary' | 'quorum' }): Promise<Tuple[]>;
}

interface KeyModel {
  /** Highest value whose write was acknowledged. */
  acked: number;
  /** Highest value whose write was attempted (acknowledged, failed or unknown). */
  attempted: number;
}

/** What the loop saw. */
export interface LoadReport {
  writesAcked: number;
  writesFailed: number;
  reads: number;
  staleReads: Array<{ key: string; got: number; acked: number }>;
  misses: string[];
  /** Reads of a value never written (a correctness bug, never expected). */
  phantoms: Array<{ key: string; got: number }>;
  /** Keys whose final value is older than their last acknowledged write. */
  lost: Array<{ key: string; final: number | undefined; acked: number }>;
  errors: Record<string, number>;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Nodes to send operations through (picked round robin); re-read on every operation. */
  readonly nodes: () => readonly string[];
  readonly target: (node: string) => LoadTarget;
  readonly keys: number;
  readonly writers: number;
  /** Stop after this many operations per writer. */
  readonly maxOpsPerWriter: number;
  /** Stop after this many ms. */
  readonly maxMs: number;
  /** Fraction of operations that are reads. @defaultValue 0.5 */
  readonly readRatio?: number;
  readonly readMode?: 'local' | 'primary' | 'quorum';
  /** Stops the loop early when it returns true (checked between operations). */
  readonly until?: () => boolean;
}

function latest(rows: Tuple[]): number | undefined {
  const r = rows[0];
  return r === undefined ? undefined : (r[1] as number);
}

/** The model of a finished load, for the final check. */
export class LoadModel {
  readonly keys = new Map<string, KeyModel>();
  readonly report: LoadReport = {
    writesAcked: 0,
    writesFailed: 0,
    reads: 0,
    staleReads: [],
    misses: [],
    phantoms: [],
    lost: [],
    errors: {},
  };

  #err(e: unknown): void {
    const code = SuperCacheError.is(e) ? e.code : e instanceof Error ? e.message : String(e);
    this.report.errors[code] = (this.report.errors[code] ?? 0) + 1;
  }

  /** Runs the loop; resolves when every writer stopped. */
  async run(o: LoadOptions): Promise<LoadReport> {
    const started = Date.now();
    const readRatio = o.readRatio ?? 0.5;
    const perWriter = Math.ceil(o.keys / o.writers);
    let rr = 0;
    const pick = (): LoadTarget => {
      const nodes = o.nodes();
      return o.target(nodes[rr++ % nodes.length] as string);
    };
    const writer = async (w: number) => {
      let seed = w * 7919 + 1;
      const rand = () => {
        seed = (seed * 48271) % 2147483647;
        return seed / 2147483647;
      };
      for (let i = 0; i < o.maxOpsPerWriter; i++) {
        if (Date.now() - started > o.maxMs || o.until?.() === true) break;
        const k = `k${w}-${Math.floor(rand() * perWriter)}`;
        let m = this.keys.get(k);
        if (m === undefined) this.keys.set(k, (m = { acked: 0, attempted: 0 }));
        if (m.attempted > 0 && rand() < readRatio) {
          const floor = m.acked;
          try {
            const rows = await pick().lookup(
              k,
              o.readMode === undefined ? undefined : { readMode: o.readMode },
            );
            this.report.reads++;
            const got = latest(rows);
            if (got === undefined) {
              if (floor > 0) this.report.misses.push(k);
            } else if (got < floor) this.report.staleReads.push({ key: k, got, acked: floor });
            else if (got > m.attempted) this.report.phantoms.push({ key: k, got });
          } catch (e) {
            this.#err(e);
          }
          continue;
        }
        const v = ++m.attempted;
        try {
          await pick().insert([k, v]);
          if (v > m.acked) m.acked = v;
          this.report.writesAcked++;
        } catch (e) {
          this.report.writesFailed++;
          this.#err(e);
        }
      }
    };
    await Promise.all(Array.from({ length: o.writers }, (_x, w) => writer(w)));
    return this.report;
  }

  /** Reads every key through `target` and records lost writes. */
  async verify(target: LoadTarget, readMode?: 'local' | 'primary' | 'quorum'): Promise<LoadReport> {
    for (const [k, m] of this.keys) {
      if (m.acked === 0) continue;
      const rows = await target.lookup(k, readMode === undefined ? undefined : { readMode });
      const final = latest(rows);
      if (final === undefined || final < m.acked) this.report.lost.push({ key: k, final, acked: m.acked });
    }
    return this.report;
  }
}

/** The loop's operations on table `table` through node `id` of a memory cluster. */
export function tableTarget(c: MemoryCluster, id: string, table: string): LoadTarget {
  return {
    insert: (obj: Tuple) => c.table(id, table).insert(obj),
    lookup: (key, options) => c.table(id, table).lookup(key, options),
  };
}

/** Fails unless the run lost nothing acknowledged, read nothing stale or unwritten, and really ran. */
export function expectClean(r: LoadReport): void {
  expect(r.phantoms).toEqual([]);
  expect(r.staleReads).toEqual([]);
  expect(r.misses).toEqual([]);
  expect(r.lost).toEqual([]);
  expect(r.writesAcked).toBeGreaterThan(50);
}
