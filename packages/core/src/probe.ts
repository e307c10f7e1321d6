/**
 * Probes: the tuples reads and deletes take, of which only the key and the
 * partition data matter.
 */

import { SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import { show, tupleTooShort } from './errors.js';

/** The error for a probe that is not an array or is too short. */
export function badProbe(probe: unknown, keyPos: number, partitionPos: number): SuperCacheError {
  if (!Array.isArray(probe)) {
    return new SuperCacheError('SC_ERR_BAD_ARG', `a probe must be a tuple (an array), got ${show(probe)}`);
  }
  return keyPos >= partitionPos
    ? tupleTooShort(probe.length, 'keyPos', keyPos)
    : tupleTooShort(probe.length, 'partitionPos', partitionPos);
}

/** `[key, partitionData]` of a probe. @throws SuperCacheError as {@link badProbe}. */
export function probeParts(probe: Tuple, keyPos: number, partitionPos: number): readonly [Term, Term] {
  if (!Array.isArray(probe) || probe.length <= Math.max(keyPos, partitionPos)) {
    throw badProbe(probe, keyPos, partitionPos);
  }
  return [probe[keyPos] as Term, probe[partitionPos] as Term];
}
