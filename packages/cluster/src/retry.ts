/**
 * One retry loop for the membership requests a node makes (join, leave,
 * table join): a bounded number of attempts with a growing pause between
 * them, stopping early on success or on an error that retrying cannot fix.
 */

import { sleep } from './fields.js';

/** What one attempt concluded. */
export type Attempt<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly error?: unknown };

/** How many attempts, and the pause after attempt `i` (0-based). */
export interface Backoff {
  readonly attempts: number;
  readonly delayMs: (attempt: number) => number;
}

/** Linear backoff: `stepMs × (i + 1)`. */
export function linear(attempts: number, stepMs: number): Backoff {
  return { attempts, delayMs: (i) => stepMs * (i + 1) };
}

/** Exponential backoff: `min(maxMs, baseMs × 2^i)`. */
export function exponential(attempts: number, baseMs: number, maxMs: number): Backoff {
  return { attempts, delayMs: (i) => Math.min(maxMs, baseMs * 2 ** i) };
}

/**
 * Runs `attempt` until it reports done or the attempts run out; an error it
 * throws ends the loop at once (that is how an attempt says "fatal"). When
 * the attempts run out, throws `exhausted(lastError)`.
 */
export async function retrying<T>(
  backoff: Backoff,
  attempt: (i: number) => Promise<Attempt<T>>,
  exhausted: (last: unknown) => unknown,
): Promise<T> {
  let last: unknown;
  for (let i = 0; i < backoff.attempts; i++) {
    const r = await attempt(i);
    if (r.done) return r.value;
    if (r.error !== undefined) last = r.error;
    if (i < backoff.attempts - 1) await sleep(backoff.delayMs(i));
  }
  throw exhausted(last);
}
