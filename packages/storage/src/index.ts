/**
 * @packageDocumentation
 * `@supercache/storage` — an ETS-grade, synchronous, in-memory table of
 * tuples for Node.js: `set`, `ordered_set`, `bag` and `duplicate_bag`
 * tables, match patterns and match specs, paging, TTL and LRU eviction.
 */

export type { ErrorCode, ErrorCodeInfo, SuperCacheErrorOptions } from './errors.js';
export { badArg, ERROR_CODES, SuperCacheError } from './errors.js';
export { isFlatTuple } from './flat-key.js';
export type {
  CompiledMatchSpec,
  CompiledPattern,
  MarkerKind,
  MatchClause,
  MatchExpr,
  MatchSpec,
  Pattern,
} from './match.js';
export {
  _,
  $,
  $_,
  $$,
  $1,
  $2,
  $3,
  $4,
  $5,
  $6,
  $7,
  $8,
  $9,
  AllBindings,
  assertMatchSpec,
  compileMatchSpec,
  compilePattern,
  decodeMarkers,
  decodeMatchSpec,
  decodePattern,
  encodeMarkers,
  isAllBindings,
  isMarker,
  isMatchVar,
  isValidVarIndex,
  isWholeObject,
  isWildcard,
  MATCH_OPS,
  MAX_VAR_INDEX,
  MatchVar,
  markerKind,
  NO_MATCH,
  specFromPattern,
  WholeObject,
  Wildcard,
} from './match.js';
export type { Continuation, ContinuationPosition, MatchContinuation, SelectContinuation } from './table.js';
export { Table } from './table.js';
export type { MapKey, Term, TermObject, Tuple } from './terms.js';
export {
  assertTerm,
  assertTuple,
  canonicalString,
  compareTerms,
  isTerm,
  keyOf,
  termBytes,
  termsEqual,
} from './terms.js';
export type {
  Clock,
  CounterOp,
  Entry,
  EntryMeta,
  InsertOptions,
  Page,
  RemovalReason,
  TableInfo,
  TableOptions,
  TableStats,
  TableType,
} from './types.js';
