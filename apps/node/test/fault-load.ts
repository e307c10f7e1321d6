/**
 * A bounded load loop over the JSON client API of real nodes, for fault
 * tests, and the model its history is checked against.
 *
 * Each worker owns its keys and writes them one at a time with increasing
 * values (`1, 2, 3…` per key), so a key's writes are ordered by value; any
 * worker reads any key, so reads overlap writes from other workers. Every
 * operation is recorded with the time it was sent and the time its answer
 * arrived. A failure that is retryable (or a dropped connection) is retried
 * with the same value through the next node until `retryMs` has passed;
 * a write that still failed has an unknown outcome: it may or may not have
 * applied, and the checks accept either.
 *
 * The checks: no acknowledged write lost (the final read of a key returns at
 * least its last acknowledged value), no stale read (a read returns at least
 * the last value acknowledged before it began), no miss (a read of a key
 * with a write acknowledged before it began returns something), no phantom
 * (a read returns only a value attempted before it ended).
 */

import { performance } from 'node:perf_hooks';
import { SuperCacheError, type Tuple } from '@supercache/storage';
import type { JsonClient } from '../src/json-client.js';
import type { RegisterOp } from './linearizability.js';

/** Options of {@link FaultLoad.run}. */
export interface FaultLoadOptions {
  /** Nodes to send operations through, picked round robin; re-read on every attempt. */
  readonly nodes: () => readonly string[];
  readonly client: (id: string) => JsonClient;
  readonly workers: number;
  readonly keysPerWorker: number;
  /** Stop after this many operations per worker. */
  readonly maxOpsPerWorker: number;
  /** Stop after this many ms. */
  readonly maxMs: number;
  /** Fraction of operations that are reads. @defaultValue 0.5 */
  readonly readRatio?: number;
  /** Seed of the workers' choices (printed by the tests). */
  readonly seed: number;
  /** How long one operation is retried before it counts as failed. @defaultValue 4000 */
  readonly retryMs?: number;
  /** Stops the loop early when it returns true (checked between operations). */
  readonly until?: () => boolean;
  /** While it returns true, workers wait before starting their next operation. */
  readonly paused?: () => boolean;
}

/** One recorded operation. */
export interface OpRecord extends RegisterOp {
  readonly key: string;
  /** The node the successful (or last) attempt went through. */
  readonly via: string;
  readonly attempts: number;
}

/** What the checks found; every list is empty in a correct run. */
export interface FaultReport {
  readonly writesAcked: number;
  readonly writesUnknown: number;
  readonly reads: number;
  readonly readsFailed: number;
  /** Final reads ({@link FaultLoad.verify}) that failed after every retry: their keys went unchecked. */
  readonly finalsFailed: number;
  readonly retries: number;
  /** Errors seen by any attempt, by code. */
  readonly errors: Readonly<Record<string, number>>;
  /** Failures that are neither retryable nor a dropped connection (a bad request: a test bug). */
  readonly fatal: readonly string[];
  readonly staleReads: ReadonlyArray<{ key: string; got: number; acked: number; via: string }>;
  readonly misses: ReadonlyArray<{ key: string; acked: number; via: string }>;
  readonly phantoms: ReadonlyArray<{ key: string; got: number; via: string }>;
  /** Acknowledged writes whose value is above the final value of their key. */
  readonly lost: ReadonlyArray<{ key: string; value: number; final: number | null }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function errorCode(e: unknown): string {
  if (SuperCacheError.is(e)) return e.code;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.name : String(e);
}

/** True for an error after which the operation may be tried again (its outcome is unknown or it did not run). */
function retryable(e: unknown): boolean {
  if (SuperCacheError.is(e)) return e.retryable || (e.details?.status as number | undefined) === 503;
  // undici: refused or reset connections, timeouts, a socket closed by a killed node.
  return true;
}

function firstValue(rows: readonly Tuple[]): number | null {
  const row = rows[0];
  return row === undefined ? null : (row[1] as number);
}

/** A load run: its history, and the checks of that history. */
export class FaultLoad {
  /** Every recorded operation, in completion order (unknown-outcome writes when they gave up). */
  readonly ops: OpRecord[] = [];
  /** Final reads, made by {@link verify}. */
  readonly finals: OpRecord[] = [];
  readonly #errors: Record<string, number> = {};
  readonly #fatal: string[] = [];
  #retries = 0;
  #readsFailed = 0;
  #finalsFailed = 0;
  #inFlight = 0;
  #rr = 0;
  /** Keys each worker wrote, with the last value attempted. */
  readonly #attempted = new Map<string, number>();

  /** Operations currently in flight (0 once paused workers are idle). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Every key written at least once. */
  get keys(): string[] {
    return [...this.#attempted.keys()];
  }

  /** Runs `call` through the nodes, retrying a retryable failure; the node and attempts of the last try. */
  async #attempt<T>(
    o: Pick<FaultLoadOptions, 'nodes' | 'client' | 'retryMs'>,
    call: (c: JsonClient) => Promise<T>,
  ): Promise<
    { ok: true; value: T; via: string; attempts: number } | { ok: false; via: string; attempts: number }
  > {
    const giveUp = performance.now() + (o.retryMs ?? 4000);
    let attempts = 0;
    let via = '';
    for (;;) {
      const nodes = o.nodes();
      via = nodes[this.#rr++ % Math.max(1, nodes.length)] ?? '';
      attempts++;
      try {
        return { ok: true, value: await call(o.client(via)), via, attempts };
      } catch (e) {
        const code = errorCode(e);
        this.#errors[code] = (this.#errors[code] ?? 0) + 1;
        if (!retryable(e)) {
          this.#fatal.push(`${code}: ${(e as Error).message}`);
          return { ok: false, via, attempts };
        }
        if (performance.now() > giveUp) return { ok: false, via, attempts };
        this.#retries++;
        await sleep(20);
      }
    }
  }

  /** Runs the loop; resolves when every worker stopped. */
  async run(o: FaultLoadOptions): Promise<void> {
    const started = performance.now();
    const readRatio = o.readRatio ?? 0.5;
    const worker = async (w: number) => {
      let s = (o.seed * 7919 + w * 104_729 + 1) % 2_147_483_647;
      const rand = () => {
        s = (s * 48_271) % 2_147_483_647;
        return s / 2_147_483_647;
      };
      for (let i = 0; i < o.maxOpsPerWorker; i++) {
        while (o.paused?.() === true) await sleep(5);
        if (performance.now() - started > o.maxMs || o.until?.() === true) break;
        const written = this.keys;
        this.#inFlight++;
        try {
          if (written.length > 0 && rand() < readRatio) {
            const key = written[Math.floor(rand() * written.length)] as string;
            const invoke = performance.now();
            const r = await this.#attempt(o, (c) => c.get(key));
            if (r.ok) {
              const complete = performance.now();
              const value = firstValue(r.value);
              this.ops.push({ key, kind: 'read', value, invoke, complete, via: r.via, attempts: r.attempts });
            } else this.#readsFailed++;
            continue;
          }
          const key = `s${o.seed}-w${w}-${Math.floor(rand() * o.keysPerWorker)}`;
          const value = (this.#attempted.get(key) ?? 0) + 1;
          this.#attempted.set(key, value);
          const invoke = performance.now();
          const r = await this.#attempt(o, (c) => c.put([key, value]));
          const complete = r.ok ? performance.now() : undefined;
          this.ops.push({ key, kind: 'write', value, invoke, complete, via: r.via, attempts: r.attempts });
        } finally {
          this.#inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: o.workers }, (_x, w) => worker(w)));
  }

  /** Reads every written key through each of `nodes` (retrying like the loop) and records the answers. */
  async verify(o: Pick<FaultLoadOptions, 'client' | 'retryMs'>, nodes: readonly string[]): Promise<void> {
    for (const id of nodes) {
      for (const key of this.keys) {
        const invoke = performance.now();
        const r = await this.#attempt({ ...o, nodes: () => [id] }, (c) => c.get(key));
        if (!r.ok) {
          this.#finalsFailed++;
          continue;
        }
        const value = firstValue(r.value);
        this.finals.push({
          key,
          kind: 'read',
          value,
          invoke,
          complete: performance.now(),
          via: id,
          attempts: r.attempts,
        });
      }
    }
  }

  /** Acknowledged writes answered after `from` of an operation sent before `to` (ms, `performance.now()`). */
  ackedBetween(from: number, to: number): number {
    return this.ops.filter(
      (op) => op.kind === 'write' && op.complete !== undefined && op.complete > from && op.invoke < to,
    ).length;
  }

  /** The per-key history (load and final reads) for the linearizability checker. */
  history(): Map<string, RegisterOp[]> {
    const out = new Map<string, RegisterOp[]>();
    for (const op of [...this.ops, ...this.finals]) {
      let h = out.get(op.key);
      if (h === undefined) out.set(op.key, (h = []));
      h.push({ kind: op.kind, value: op.value, invoke: op.invoke, complete: op.complete });
    }
    return out;
  }

  /** Checks the recorded history; call after {@link verify}. */
  check(): FaultReport {
    const byKey = new Map<string, OpRecord[]>();
    for (const op of this.ops) {
      if (op.kind !== 'write') continue;
      let l = byKey.get(op.key);
      if (l === undefined) byKey.set(op.key, (l = []));
      l.push(op);
    }
    const lastAckedBefore = (key: string, t: number): number => {
      let best = 0;
      for (const wr of byKey.get(key) ?? [])
        if (wr.complete !== undefined && wr.complete < t && (wr.value as number) > best)
          best = wr.value as number;
      return best;
    };
    const attemptedBefore = (key: string, value: number, t: number): boolean =>
      (byKey.get(key) ?? []).some((wr) => wr.value === value && wr.invoke < t);
    const staleReads: Array<{ key: string; got: number; acked: number; via: string }> = [];
    const misses: Array<{ key: string; acked: number; via: string }> = [];
    const phantoms: Array<{ key: string; got: number; via: string }> = [];
    for (const op of [...this.ops, ...this.finals]) {
      if (op.kind !== 'read') continue;
      const acked = lastAckedBefore(op.key, op.invoke);
      if (op.value === null) {
        if (acked > 0) misses.push({ key: op.key, acked, via: op.via });
      } else if (op.value < acked) staleReads.push({ key: op.key, got: op.value, acked, via: op.via });
      else if (!attemptedBefore(op.key, op.value, op.complete as number))
        phantoms.push({ key: op.key, got: op.value, via: op.via });
    }
    // Lost: an acknowledged write above the lowest final value read for its key.
    const finalOf = new Map<string, number | null>();
    for (const f of this.finals) {
      const prev = finalOf.get(f.key);
      if (prev === undefined || f.value === null || (prev !== null && f.value < prev))
        finalOf.set(f.key, f.value);
    }
    const lost: Array<{ key: string; value: number; final: number | null }> = [];
    for (const [key, writes] of byKey) {
      if (!finalOf.has(key)) continue;
      const final = finalOf.get(key) as number | null;
      for (const wr of writes)
        if (wr.complete !== undefined && (final === null || (wr.value as number) > final))
          lost.push({ key, value: wr.value as number, final });
    }
    const writes = this.ops.filter((op) => op.kind === 'write');
    return {
      writesAcked: writes.filter((op) => op.complete !== undefined).length,
      writesUnknown: writes.filter((op) => op.complete === undefined).length,
      reads: this.ops.length - writes.length,
      readsFailed: this.#readsFailed,
      finalsFailed: this.#finalsFailed,
      retries: this.#retries,
      errors: { ...this.#errors },
      fatal: [...this.#fatal],
      staleReads,
      misses,
      phantoms,
      lost,
    };
  }
}
