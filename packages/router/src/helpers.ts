/**
 * Small helpers every layer from the router up shares: a plain-record test,
 * an abortable sleep and the summation of storage counters. One copy each,
 * so a fix lands everywhere.
 */

import type { TableStats } from '@supercache/storage';
import { abortError } from './backend.js';

/**
 * True for a plain map-like value: an object that is neither `null`, an
 * array nor a byte array (`Uint8Array`), which is how decoded wire bodies and
 * option bags look.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/**
 * Resolves after `ms` milliseconds; with a `signal`, rejects with
 * `SC_ERR_ABORTED` as soon as it aborts (at once when it already has) and
 * clears the timer.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** {@link TableStats} with writable fields, for summing into. */
export type MutableTableStats = { -readonly [K in keyof TableStats]: TableStats[K] };

/** Storage counters that are all zero (a fresh object each call). */
export function emptyStats(): MutableTableStats {
  return { hits: 0, misses: 0, inserts: 0, deletes: 0, expirations: 0, evictions: 0 };
}

/** Adds every counter of `from` into `into` and returns `into`. */
export function addStats<S extends MutableTableStats>(into: S, from: TableStats): S {
  into.hits += from.hits;
  into.misses += from.misses;
  into.inserts += from.inserts;
  into.deletes += from.deletes;
  into.expirations += from.expirations;
  into.evictions += from.evictions;
  return into;
}

/** The counters of every element of `list`, summed into a fresh object. */
export function sumStats(list: Iterable<TableStats>): TableStats {
  const s = emptyStats();
  for (const x of list) addStats(s, x);
  return s;
}
