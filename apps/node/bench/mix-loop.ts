/**
 * The closed-loop read/write mix both cluster benchmarks drive: `inFlight`
 * workers, each issuing one operation at a time on a random key (a fixed
 * LCG, so runs are repeatable), latencies recorded only inside the measured
 * window after a warm-up.
 */

import { performance } from 'node:perf_hooks';

/** What the loop calls: a read of key `i`, or a write of value `v` to it. */
export interface MixDriver {
  get(i: number): Promise<unknown>;
  put(i: number, v: number): Promise<unknown>;
}

/** Options of {@link runMix}. */
export interface MixOptions {
  readonly keys: number;
  readonly readRatio: number;
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly seed: number;
}

/** Operations completed in the window, failures, its length, and the sorted latencies (ms). */
export interface MixRun {
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  readonly latencies: Float64Array;
}

export async function runMix(driver: MixDriver, o: MixOptions): Promise<MixRun> {
  let latencies = new Float64Array(1 << 20);
  let n = 0;
  let errors = 0;
  let record = false;
  let stop = false;
  let seed = o.seed;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 4294967296;
  };
  const worker = async () => {
    while (!stop) {
      const i = Math.floor(rnd() * o.keys);
      const read = rnd() < o.readRatio;
      const t0 = performance.now();
      try {
        if (read) await driver.get(i);
        else await driver.put(i, t0);
      } catch {
        errors++;
      }
      if (record) {
        if (n === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[n++] = performance.now() - t0;
      }
    }
  };
  const workers = Array.from({ length: o.inFlight }, worker);
  await new Promise((r) => setTimeout(r, o.warmupMs));
  record = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.durationMs));
  record = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(workers);
  return { ops: n, errors, seconds, latencies: latencies.slice(0, n).sort() };
}
