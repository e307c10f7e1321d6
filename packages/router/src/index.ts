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
 * The command map ({@link ShardCommandMap}, {@link NodeCommandMap}) types
 * what each built-in command takes and answers, and
 * {@link checkCallOptions} is the one check of every per-call options bag.
 */

export type {
  Backend,
  BackendCursor,
  ExecOptions,
  LocalAccess,
  LocalBackendOptions,
  RouteOptions,
} from './backend.js';
export { abortError, LocalBackend, throwIfAborted } from './backend.js';
export { fanoutValues, needsOrdered } from './builtin.js';
export type { OptionCheck, OptionShape, ReadMode } from './call-options.js';
export {
  badCallOption,
  checkCallOptions,
  checkPageSize,
  checkPartition,
  checkReadMode,
  checkSignal,
  checkTtl,
  didYouMean,
  extendShape,
  KEY_READ_SHAPE,
  KEY_WRITE_SHAPE,
  optionShape,
  READ_MODES,
  READ_SHAPE,
  ROUTE_SHAPE,
  STREAM_SHAPE,
  unknownCallOption,
  WRITE_SHAPE,
} from './call-options.js';
export type {
  CommandSig,
  EntryRow,
  FanoutItem,
  FanoutResult,
  NodeArgs,
  NodeCommandMap,
  NodeCommandName,
  NodeResult,
  ShardArgs,
  ShardCommandMap,
  ShardCommandName,
  ShardResult,
  StepAnswer,
  TypedBackend,
} from './command-map.js';
export { fanoutItems, NODE_COMMAND_NAMES, SHARD_COMMAND_NAMES, typedBackend } from './command-map.js';
export type { Command, CommandContext, NodeCommand, ShardCommand } from './commands.js';
export { CommandRegistry, concatMerge, mergeKeyed, sumMerge, writeObjects } from './commands.js';
export { copyArgs, copyData } from './copy.js';
export type { MutableTableStats } from './helpers.js';
export { addStats, emptyStats, isRecord, sleep, sumStats } from './helpers.js';
export type { CursorKind, CursorPage, ShardSetOptions } from './shard-set.js';
export { createRegistry, cursorIterator, mergeIterators, ShardSet } from './shard-set.js';
export type {
  KeyOptions,
  KeyReadOptions,
  LookupElementOptions,
  ReadOptions,
  StreamOptions,
  TableRouterOptions,
  WriteOptions,
} from './table-router.js';
export { TableCursor, TableRouter } from './table-router.js';
export type { CallContext, CallOptions, PeerHandler, Transport } from './transport.js';
