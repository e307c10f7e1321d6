/**
 * What a handoff's two sides share: the wire shapes of streamed entries,
 * their conversions, and the view of its table each side works through.
 */

import type { ShardSet } from '@supercache/router';
import type { Entry, EntryMeta, Term, Tuple } from '@supercache/storage';
import { termBytes } from '@supercache/storage';
import type { TableHost } from './distributed-table.js';
import type { Owner, PlacementStrategy, Routing } from './placement.js';
import type { Replicator } from './replicator.js';
import type { TableSpec, View } from './view.js';

/** An entry on the wire: `[obj, expiresAt, version | null]`. */
export type WireEntry = [obj: Tuple, expiresAt: number, version: string | null];
/** A snapshot item: `[targetShard, obj, expiresAt, version | null]`. */
export type ChunkItem = [shard: number, obj: Tuple, expiresAt: number, version: string | null];
/** A delta item: the complete list of a key's objects at the source (`[]` = deleted). */
export type DeltaItem = [shard: number, key: Term, entries: WireEntry[]];

/** An entry as it travels. */
export function wire(e: Entry): WireEntry {
  return [e.obj, e.expiresAt, e.version ?? null];
}

/** Storage metadata of a wire entry. */
export function meta(expiresAt: number, version: string | null): EntryMeta {
  const m: { expiresAt: number; version?: string } = { expiresAt };
  if (version !== null) m.version = version;
  return m;
}

/** Bytes of one wire entry, estimated. */
export function entryBytes(obj: Tuple): number {
  try {
    return termBytes(obj as unknown as Term) + 32;
  } catch {
    return 64;
  }
}

/** The parts of its table a handoff side works with. */
export interface HandoffTableAccess {
  readonly name: string;
  readonly spec: TableSpec;
  readonly shards: ShardSet;
  readonly host: TableHost;
  readonly placement: PlacementStrategy;
  replicator(): Replicator | undefined;
  routingFor(view: View): Routing;
  ownerIn(r: Routing, pd: Term): Owner;
}
