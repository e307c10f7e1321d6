/**
 * Checks of the data a peer sends for this node to store: handoff chunks
 * and deltas, replication records and snapshots, and the clock a routed
 * write carries. Every item of a message is checked before any of it is
 * staged or applied, so a bad item refuses the whole message with a typed
 * 4xx and changes nothing.
 *
 * Versions are checked twice: they must be well-formed HLC timestamps, and
 * no further ahead of this node's wall clock than its `maxClockSkewMs`
 * (`SC_ERR_CLOCK_SKEW`). A version from the far future would otherwise win
 * every last-writer-wins merge, and, merged into the clock, make every later
 * write of this node fail.
 */

import { assertTerm, assertTuple, SuperCacheError, type Term, type Tuple } from '@supercache/storage';

/** What checks a remote version: the node's hybrid logical clock. */
export interface VersionGuard {
  /**
   * Throws `SC_ERR_BAD_ARG` for a string that is not a timestamp and
   * `SC_ERR_CLOCK_SKEW` for one too far ahead; never moves the clock.
   */
  check(remote: string): unknown;
  /** `check` without a result, where the guard has a cheaper form of it. */
  assertAcceptable?(remote: string): void;
}

/** An entry as it travels: `[obj, expiresAt, version | null]`. */
export type CheckedEntry = [obj: Tuple, expiresAt: number, version: string | null];

function bad(where: string, why: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_REQUEST', `${where}: ${why}`, { details: { where } });
}

/** Rethrows a storage-level refusal (a bad term, a short tuple) as the peer's bad request. */
function asBadRequest(where: string, e: unknown): never {
  if (SuperCacheError.is(e) && e.code !== 'SC_ERR_CLOCK_SKEW') {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${where}: ${e.message}`, {
      cause: e,
      details: { where },
    });
  }
  throw e;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isShard(v: unknown, shards: number): v is number {
  return isIndex(v) && v < shards;
}

/** What the checks need to know of the receiving table. */
export interface TableShape {
  /** Position of the key in its tuples. */
  readonly keyPos: number;
  /** Number of shards (partitions) the table has here. */
  readonly shards: number;
}

/**
 * A version from the wire: `null` (none), or a timestamp within the bound.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` when it is neither a string
 *   nor null, or not a timestamp; `SC_ERR_CLOCK_SKEW` when it is too far ahead.
 */
export function checkVersion(v: unknown, guard: VersionGuard, where: string): string | null {
  return checkVersionAt(v, guard, where, undefined);
}

/** The name of what is checked: `label`, or `label index` for the items of a message (built only for an error). */
function at(label: string, index: number | undefined): string {
  return index === undefined ? label : `${label} ${index}`;
}

function checkVersionAt(
  v: unknown,
  guard: VersionGuard,
  label: string,
  index: number | undefined,
): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw bad(at(label, index), 'a version must be an HLC timestamp string or null');
  try {
    if (guard.assertAcceptable !== undefined) guard.assertAcceptable(v);
    else guard.check(v);
  } catch (e) {
    asBadRequest(at(label, index), e);
  }
  return v;
}

/**
 * One stored entry from the wire: a tuple with an element at `keyPos`, a
 * non-negative expiry (`0` = never) and a version.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` or `SC_ERR_CLOCK_SKEW`
 */
export function checkEntry(e: unknown, keyPos: number, guard: VersionGuard, where: string): CheckedEntry {
  if (!Array.isArray(e) || e.length !== 3) throw bad(where, 'an entry must be [obj, expiresAt, version]');
  const [obj, expiresAt, version] = e as [unknown, unknown, unknown];
  checkEntryFields(obj, expiresAt, version, keyPos, guard, where, undefined);
  return e as CheckedEntry;
}

function checkEntryFields(
  obj: unknown,
  expiresAt: unknown,
  version: unknown,
  keyPos: number,
  guard: VersionGuard,
  label: string,
  index: number | undefined,
): void {
  if (!Array.isArray(obj)) throw bad(at(label, index), 'the object of an entry must be a tuple (array)');
  try {
    assertTuple(obj, keyPos);
  } catch (err) {
    asBadRequest(at(label, index), err);
  }
  if (typeof expiresAt !== 'number' || !(expiresAt >= 0)) {
    throw bad(at(label, index), 'expiresAt must be a non-negative number (0 = never)');
  }
  checkVersionAt(version, guard, label, index);
}

function checkKey(key: unknown, where: string): Term {
  try {
    return assertTerm(key, 'key');
  } catch (e) {
    return asBadRequest(where, e);
  }
}

/**
 * The items of an `sc.handoffChunk`: `[shard, obj, expiresAt, version]` each.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` or `SC_ERR_CLOCK_SKEW`
 */
export function checkChunkItems(items: readonly unknown[], shape: TableShape, guard: VersionGuard): void {
  const { keyPos, shards } = shape;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (!Array.isArray(it) || it.length !== 4 || !isShard(it[0], shards)) {
      throw bad(`handoff item ${i}`, 'must be [shard, obj, expiresAt, version] with a shard of this table');
    }
    checkEntryFields(it[1], it[2], it[3], keyPos, guard, 'handoff item', i);
  }
}

/**
 * The items of an `sc.handoffDelta`: `[shard, key, entries]` each.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` or `SC_ERR_CLOCK_SKEW`
 */
export function checkDeltaItems(items: readonly unknown[], shape: TableShape, guard: VersionGuard): void {
  const { keyPos, shards } = shape;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const where = `handoff delta item ${i}`;
    if (!Array.isArray(it) || it.length !== 3 || !isShard(it[0], shards) || !Array.isArray(it[2])) {
      throw bad(where, 'must be [shard, key, entries] with a shard of this table');
    }
    checkKey(it[1], where);
    for (const e of it[2] as unknown[]) checkEntry(e, keyPos, guard, where);
  }
}

/**
 * The batches of an `sc.replicate`: `[partition, primarySeq, [[seq, [[key, entries], …]], …]]`.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` or `SC_ERR_CLOCK_SKEW`
 */
export function checkReplicaBatches(batches: readonly unknown[], keyPos: number, guard: VersionGuard): void {
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b];
    const where = `replication batch ${b}`;
    if (
      !Array.isArray(batch) ||
      batch.length !== 3 ||
      !isIndex(batch[0]) ||
      !isIndex(batch[1]) ||
      !Array.isArray(batch[2])
    ) {
      throw bad(where, 'must be [partition, primarySeq, records]');
    }
    for (const rec of batch[2] as unknown[]) {
      if (!Array.isArray(rec) || rec.length !== 2 || !isIndex(rec[0]) || !Array.isArray(rec[1])) {
        throw bad(where, 'a record must be [seq, keys]');
      }
      for (const ks of rec[1] as unknown[]) {
        if (!Array.isArray(ks) || ks.length !== 2 || !Array.isArray(ks[1])) {
          throw bad(where, 'a key state must be [key, entries]');
        }
        checkKey(ks[0], where);
        for (const e of ks[1] as unknown[]) checkEntry(e, keyPos, guard, where);
      }
    }
  }
}

/**
 * The entries of an `sc.replicaSnapshot` chunk.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` or `SC_ERR_CLOCK_SKEW`
 */
export function checkReplicaEntries(items: readonly unknown[], keyPos: number, guard: VersionGuard): void {
  for (let i = 0; i < items.length; i++) checkEntry(items[i], keyPos, guard, `snapshot entry ${i}`);
}

/**
 * The clock a routed write carries (field `v` of `sc.exec`): absent, or a
 * timestamp within the bound.
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` when it is present but not a
 *   timestamp; `SC_ERR_CLOCK_SKEW` when it is too far ahead.
 */
export function checkRemoteClock(v: unknown, guard: VersionGuard): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad('field v', 'must be an HLC timestamp string');
  return checkVersion(v, guard, 'field v') ?? undefined;
}
