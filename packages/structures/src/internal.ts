/**
 * Checks shared by the structure classes. Internal: not exported.
 */

import type { TableRouter } from '@supercache/router';
import { assertTerm, SuperCacheError, type Term } from '@supercache/storage';
import { requireSetType } from './layout.js';

/**
 * Checks that a router can carry a structure: records keyed at position 0,
 * partitioned by that key, and the structures' commands registered.
 *
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` for another key or partition
 *   position, or a registry without the structures' commands;
 *   `SC_ERR_WRONG_TABLE_TYPE` when `needsSet` and the table is a bag.
 */
export function checkRouter(router: TableRouter, what: string, probe: string, needsSet: boolean): void {
  if (router.keyPos !== 0 || router.partitionPos !== 0) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      `${what} needs a table with keyPos 0 and partitionPos 0, got ${router.keyPos} and ${router.partitionPos}`,
    );
  }
  if (!router.backend.local.shards.registry.has(probe)) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      `${what} needs the structures' commands: call registerStructureCommands(registry) on the table's registry`,
    );
  }
  if (needsSet) requireSetType(router.type, what);
}

/** Validates a structure name. @throws SuperCacheError `SC_ERR_INVALID_TERM`. */
export function checkName(name: unknown): Term {
  return assertTerm(name, 'name');
}
