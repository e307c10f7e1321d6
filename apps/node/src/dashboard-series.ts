/**
 * The client API's traffic per second, for the dashboard's charts: requests,
 * server errors (5xx) and latency (mean, p99 over a bounded sample), kept
 * for the last {@link SERIES_SECONDS} seconds. Responses are bucketed as they
 * finish, so no timer runs; empty seconds read as zero.
 */

/** Seconds of history the series keeps. */
export const SERIES_SECONDS = 120;

/** Latency samples kept per second (reservoir), for the p99. */
const SAMPLES_PER_SECOND = 256;

/** One second of client API traffic. */
export interface SeriesPoint {
  /** Start of the second, wall-clock ms. */
  readonly t: number;
  /** Requests that finished in this second. */
  readonly ops: number;
  /** Of them, answered with a 5xx status. */
  readonly errors: number;
  /** Mean latency in ms (0 without requests). */
  readonly meanMs: number;
  /** 99th percentile latency in ms over the kept samples (0 without requests). */
  readonly p99Ms: number;
}

interface Bucket {
  second: number;
  ops: number;
  errors: number;
  sumMs: number;
  samples: number[];
}

/** Per-second counters of finished requests. */
export class OpsSeries {
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #buckets: Bucket[] = [];

  /** `now` (wall-clock ms) and `random` are injectable for tests. */
  constructor(options: { now?: () => number; random?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Records one finished request: its latency in ms and whether it was a server error. */
  observe(latencyMs: number, error: boolean): void {
    const second = Math.floor(this.#now() / 1000);
    let b = this.#buckets[this.#buckets.length - 1];
    if (b === undefined || b.second !== second) {
      b = { second, ops: 0, errors: 0, sumMs: 0, samples: [] };
      this.#buckets.push(b);
      while (this.#buckets.length > 0 && (this.#buckets[0] as Bucket).second <= second - SERIES_SECONDS) {
        this.#buckets.shift();
      }
    }
    b.ops++;
    if (error) b.errors++;
    b.sumMs += latencyMs;
    if (b.samples.length < SAMPLES_PER_SECOND) b.samples.push(latencyMs);
    else {
      // Reservoir sampling: every request of the second is kept with equal chance.
      const i = Math.floor(this.#random() * b.ops);
      if (i < SAMPLES_PER_SECOND) b.samples[i] = latencyMs;
    }
  }

  /**
   * The last `seconds` complete seconds (the current one is still filling),
   * oldest first, one point per second.
   */
  points(seconds = 60): SeriesPoint[] {
    const n = Math.max(1, Math.min(SERIES_SECONDS - 1, Math.floor(seconds)));
    const current = Math.floor(this.#now() / 1000);
    const bySecond = new Map(this.#buckets.map((b) => [b.second, b]));
    const out: SeriesPoint[] = [];
    for (let s = current - n; s < current; s++) {
      const b = bySecond.get(s);
      if (b === undefined || b.ops === 0) {
        out.push({ t: s * 1000, ops: 0, errors: 0, meanMs: 0, p99Ms: 0 });
        continue;
      }
      const sorted = [...b.samples].sort((x, y) => x - y);
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
      out.push({ t: s * 1000, ops: b.ops, errors: b.errors, meanMs: b.sumMs / b.ops, p99Ms: p99 });
    }
    return out;
  }
}
