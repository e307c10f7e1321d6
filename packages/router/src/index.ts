/**
 * @packageDocumentation
 * `@supercache/router` — routes operations to the shard that owns them.
 *
 * Every table operation is a named, serializable command that runs
 * synchronously on the owner's storage tables ({@link ShardSet}). A
 * {@link Backend} decides where commands run: {@link LocalBackend} in this
 * process, the cluster package's backend on owner nodes over a
 * {@link Transport}. {@link TableRouter} is the asynchronous table API,
 * written once over any backend, with fan-out, ordered merges and cursors.
 */

export type {
  Backend,
  BackendCursor,
  LocalAccess,
  LocalBackendOptions,
  ReadMode,
  RouteOptions,
} from './backend.js';
export { abortError, LocalBackend, throwIfAborted } from './backend.js';
export { fanoutValues, needsOrdered } from './builtin.js';
export type { Command, CommandContext, NodeCommand, ShardCommand } from './commands.js';
export { CommandRegistry, concatMerge, mergeKeyed, sumMerge, writeObjects } from './commands.js';
export type { CursorKind, CursorPage, ShardSetOptions } from './shard-set.js';
export { createRegistry, cursorIterator, mergeIterators, ShardSet } from './shard-set.js';
export type { KeyOptions, TableRouterOptions, WriteOptions } from './table-router.js';
export { TableCursor, TableRouter } from './table-router.js';
export type { CallContext, CallOptions, PeerHandler, Transport } from './transport.js';
