/**
 * Hybrid logical clock (Kulkarni et al., 2014) with a string form that sorts
 * in causal order.
 *
 * A timestamp is `WWWWWWWWWWWW-CCCCCC-node`: 12 lower-case hex digits of
 * wall-clock milliseconds, 6 hex digits of a logical counter, and the node
 * id that issued it. Because the first two fields are fixed-width, plain
 * string comparison (`<`) orders timestamps by (wall, counter, node), which
 * is exactly the HLC order with the node id as the final tie-break — so the
 * storage layer can keep versions as opaque strings.
 */

import { SuperCacheError } from '@supercache/storage';

/** A source of wall-clock time in milliseconds; inject one for deterministic tests. */
export interface PhysicalClock {
  /** Milliseconds since the Unix epoch (may jump backwards; the HLC never does). */
  now(): number;
}

/** Options of {@link HybridLogicalClock}. */
export interface HybridLogicalClockOptions {
  /**
   * Id of the node that issues the timestamps; the last field of every
   * timestamp and the final tie-break. Must be non-empty.
   */
  nodeId: string;
  /** Wall-clock source. @defaultValue `{ now: Date.now }` */
  clock?: PhysicalClock;
  /**
   * Most milliseconds a remote timestamp may lead this node's wall clock:
   * {@link HybridLogicalClock.update} and {@link HybridLogicalClock.check}
   * refuse one further ahead with `SC_ERR_CLOCK_SKEW`, and the clock does
   * not move. An integer from 1 to {@link MAX_DRIFT_LIMIT_MS}; there is no
   * "off" value, so no input can drag the clock to its end (2^48 ms).
   * @defaultValue 60000 ({@link DEFAULT_MAX_DRIFT_MS})
   */
  maxDriftMs?: number;
}

/** The parts of a timestamp. */
export interface HlcParts {
  /** Wall-clock milliseconds, an integer in `[0, 2^48)`. */
  readonly wall: number;
  /** Logical counter, an integer in `[0, 2^24)`. */
  readonly counter: number;
  /** Node id of the issuer. */
  readonly node: string;
}

/** Default bound on how far a remote timestamp may lead the local wall clock (one minute). */
export const DEFAULT_MAX_DRIFT_MS = 60_000;
/**
 * Largest accepted `maxDriftMs` (2^40 ms, about 34 years): a wall clock
 * before the year 10000 plus this bound stays far below the 2^48 ms end of
 * the timestamp range, so merging remote input can never exhaust the clock.
 */
export const MAX_DRIFT_LIMIT_MS = 2 ** 40;

const WALL_DIGITS = 12;
const COUNTER_DIGITS = 6;
/** Largest wall value (2^48 - 1 ms: year 10889). */
const MAX_WALL = 2 ** 48 - 1;
/** Largest counter value; one more carries into the wall field. */
const MAX_COUNTER = 2 ** 24 - 1;
const PREFIX = WALL_DIGITS + 1 + COUNTER_DIGITS + 1;

function pad(n: number, width: number): string {
  const s = n.toString(16);
  return s.length >= width ? s : '0'.repeat(width - s.length) + s;
}

/**
 * Formats parts as a timestamp string.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when a part is out of range or the node id is empty.
 */
export function formatHlc(parts: HlcParts): string {
  const { wall, counter, node } = parts;
  if (!Number.isInteger(wall) || wall < 0 || wall > MAX_WALL) {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `HLC wall time must be an integer in [0, 2^48), got ${wall}`);
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) {
    throw new SuperCacheError(
      'SC_ERR_BAD_ARG',
      `HLC counter must be an integer in [0, 2^24), got ${counter}`,
    );
  }
  if (typeof node !== 'string' || node.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_ARG', 'HLC node id must be a non-empty string');
  }
  return `${pad(wall, WALL_DIGITS)}-${pad(counter, COUNTER_DIGITS)}-${node}`;
}

/**
 * Parses a timestamp produced by {@link formatHlc} or {@link HybridLogicalClock.now}.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when the string is not a timestamp.
 */
export function parseHlc(ts: string): HlcParts {
  const wall = wallOf(ts);
  return { wall, counter: hexAt(ts, WALL_DIGITS + 1, COUNTER_DIGITS), node: ts.slice(PREFIX) };
}

/** The value of `n` lowercase hex digits of `s` from `from`, or -1 when one is not such a digit. */
function hexAt(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The wall part of a timestamp, checking the whole of it as
 * {@link parseHlc} does, without allocating.
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when the string is not a timestamp.
 */
function wallOf(ts: string): number {
  const wall =
    typeof ts === 'string' &&
    ts.length > PREFIX &&
    ts.charCodeAt(WALL_DIGITS) === 45 &&
    ts.charCodeAt(WALL_DIGITS + 1 + COUNTER_DIGITS) === 45 &&
    hexAt(ts, WALL_DIGITS + 1, COUNTER_DIGITS) >= 0
      ? hexAt(ts, 0, WALL_DIGITS)
      : -1;
  if (wall < 0) throw new SuperCacheError('SC_ERR_BAD_ARG', `not an HLC timestamp: ${JSON.stringify(ts)}`);
  return wall;
}

/**
 * A hybrid logical clock: timestamps close to wall-clock time that never
 * run backwards, even when the wall clock does, and that move past every
 * timestamp this node has received.
 *
 * @example
 * ```ts
 * const a = new HybridLogicalClock({ nodeId: 'a' });
 * const b = new HybridLogicalClock({ nodeId: 'b' });
 * const t1 = a.now();          // '0192ab34cd56-000000-a'
 * const t2 = b.update(t1);     // greater than t1, whatever b's wall clock says
 * ```
 */
export class HybridLogicalClock {
  /** Node id stamped into every timestamp. */
  readonly nodeId: string;
  readonly #clock: PhysicalClock;
  readonly #maxDrift: number;
  #wall = 0;
  #counter = -1;

  /**
   * @throws SuperCacheError `SC_ERR_BAD_ARG` on an empty node id or a
   *   `maxDriftMs` that is not an integer from 1 to {@link MAX_DRIFT_LIMIT_MS}.
   */
  constructor(options: HybridLogicalClockOptions) {
    if (typeof options.nodeId !== 'string' || options.nodeId.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_ARG', 'HybridLogicalClock needs a non-empty nodeId');
    }
    const drift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    if (!Number.isInteger(drift) || drift < 1 || drift > MAX_DRIFT_LIMIT_MS) {
      throw new SuperCacheError(
        'SC_ERR_BAD_ARG',
        `maxDriftMs must be an integer from 1 to 2^40, got ${String(drift)}`,
      );
    }
    this.nodeId = options.nodeId;
    this.#clock = options.clock ?? { now: Date.now };
    this.#maxDrift = drift;
  }

  #physical(): number {
    const p = Math.floor(this.#clock.now());
    return Number.isFinite(p) && p > 0 ? Math.min(p, MAX_WALL) : 0;
  }

  /** Advances (wall, counter) to at least (wall, counter + 1), carrying a counter overflow into the wall. */
  #tick(wall: number, counter: number): string {
    if (wall > this.#wall) {
      this.#wall = wall;
      this.#counter = counter;
    } else if (counter > this.#counter) {
      this.#counter = counter;
    }
    if (this.#counter > MAX_COUNTER) {
      // 16M events in one millisecond: borrow the next millisecond rather than overflow.
      if (this.#wall >= MAX_WALL) {
        this.#counter = MAX_COUNTER;
        throw new SuperCacheError(
          'SC_ERR_INTERNAL',
          'hybrid logical clock exhausted (wall time at 2^48 - 1)',
        );
      }
      this.#wall += 1;
      this.#counter = 0;
    }
    return formatHlc({ wall: this.#wall, counter: this.#counter, node: this.nodeId });
  }

  /**
   * A new timestamp for a local event (a write). Strictly greater than every
   * timestamp this clock returned or received before.
   */
  now(): string {
    const p = this.#physical();
    if (p > this.#wall) return this.#tick(p, 0);
    return this.#tick(this.#wall, this.#counter + 1);
  }

  /** The bound on how far a remote timestamp may lead the wall clock, in ms. */
  get maxDriftMs(): number {
    return this.#maxDrift;
  }

  #checked(remote: string, p: number): HlcParts {
    const r = parseHlc(remote);
    this.#checkLead(remote, r.wall, p);
    return r;
  }

  #checkLead(remote: string, wall: number, p: number): void {
    const lead = wall - p;
    if (lead > this.#maxDrift) {
      throw new SuperCacheError(
        'SC_ERR_CLOCK_SKEW',
        `remote HLC timestamp leads the local clock by ${lead} ms (limit ${this.#maxDrift} ms)`,
        { details: { remote, leadMs: lead, maxDriftMs: this.#maxDrift } },
      );
    }
  }

  /**
   * Checks that a timestamp received from another node (a stored version,
   * say) is well formed and not too far ahead, without merging it.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `remote` is not a
   *   timestamp; `SC_ERR_CLOCK_SKEW` when it leads the wall clock by more
   *   than `maxDriftMs`.
   */
  check(remote: string): HlcParts {
    return this.#checked(remote, this.#physical());
  }

  /**
   * {@link HybridLogicalClock.check} without building the parts: for
   * checking many stored versions (a handoff chunk, a replication batch).
   * @throws SuperCacheError as `check` does.
   */
  assertAcceptable(remote: string): void {
    this.#checkLead(remote, wallOf(remote), this.#physical());
  }

  /**
   * Merges a timestamp received from another node and returns a new local
   * timestamp strictly greater than both it and everything seen before.
   * @throws SuperCacheError `SC_ERR_BAD_ARG` when `remote` is not a timestamp;
   *   `SC_ERR_CLOCK_SKEW` when it leads the wall clock by more than
   *   `maxDriftMs`. The clock is unchanged then.
   */
  update(remote: string): string {
    const p = this.#physical();
    const r = this.#checked(remote, p);
    const wall = Math.max(p, this.#wall, r.wall);
    let counter: number;
    if (wall === this.#wall && wall === r.wall) counter = Math.max(this.#counter, r.counter) + 1;
    else if (wall === this.#wall) counter = this.#counter + 1;
    else if (wall === r.wall) counter = r.counter + 1;
    else counter = 0;
    return this.#tick(wall, counter);
  }

  /** The last timestamp issued (without advancing), or undefined before the first. */
  peek(): string | undefined {
    return this.#counter < 0
      ? undefined
      : formatHlc({ wall: this.#wall, counter: this.#counter, node: this.nodeId });
  }
}
