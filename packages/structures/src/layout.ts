/**
 * Record layouts of the structures, in one place so the commands (which run
 * on the owning node) and the classes (which run on the caller) agree.
 *
 * KeyValue (on the KV table, keyPos 0):
 *   `[[name, key], value]`, partition data `[name, key]` (the record's key),
 *   so one namespace spreads over every partition.
 *
 * Queue / Stack / Struct (on the system table, a `set`, keyPos 0):
 *   queue meta  `[['q', name], head, tail]`      items `[['q', name, seq], value]`
 *   stack meta  `[['st', name], size]`           items `[['st', name, i], value]`
 *   struct      `[['s', store, keyValue], fields]`
 * All records of one queue (or stack) carry partition data `['q', name]`
 * (`['st', name]`): the meta record's key. One command therefore sees the
 * whole queue on one shard. A struct's partition data is its own key.
 */

import { SuperCacheError, type TableType, type Term, type Tuple } from '@supercache/storage';

/** Tag of queue records on the system table. */
export const QUEUE_TAG = 'q';
/** Tag of stack records on the system table. */
export const STACK_TAG = 'st';
/** Tag of struct records on the system table. */
export const STRUCT_TAG = 's';

/** Key (and partition data) of a KeyValue record. */
export function kvKey(name: Term, key: Term): Tuple {
  return [name, key];
}

/** Key of a queue's meta record; also the partition data of all its records. */
export function queueMeta(name: Term): Tuple {
  return [QUEUE_TAG, name];
}

/** Key of a queue item. */
export function queueItem(name: Term, seq: number): Tuple {
  return [QUEUE_TAG, name, seq];
}

/** Key of a stack's meta record; also the partition data of all its records. */
export function stackMeta(name: Term): Tuple {
  return [STACK_TAG, name];
}

/** Key of a stack item (0 = bottom). */
export function stackItem(name: Term, index: number): Tuple {
  return [STACK_TAG, name, index];
}

/** Key (and partition data) of a struct record. */
export function structKey(store: string, keyValue: Term): Tuple {
  return [STRUCT_TAG, store, keyValue];
}

/** True for table types that keep several objects per key. */
export function isBagType(type: TableType): boolean {
  return type === 'bag' || type === 'duplicate_bag';
}

/**
 * Throws unless the table keeps one object per key (queues, stacks and
 * structs rely on overwriting their meta records).
 * @throws SuperCacheError `SC_ERR_WRONG_TABLE_TYPE` for bag and duplicate_bag.
 */
export function requireSetType(type: TableType, what: string): void {
  if (isBagType(type)) {
    throw new SuperCacheError(
      'SC_ERR_WRONG_TABLE_TYPE',
      `${what} needs a set or ordered_set table, this one is ${type}`,
      { details: { type } },
    );
  }
}
