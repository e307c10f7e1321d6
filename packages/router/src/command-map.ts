/**
 * The typed command map: for every built-in command, the arguments it
 * takes and the result it answers. A {@link TypedBackend} is a backend seen
 * through this map, so the router and the facades above call
 * `exec('lookup', [key])` and get `Tuple[]` back without a cast at the call
 * site. Commands registered by other packages (the structures' `kv.*`,
 * `queue.*`) stay reachable with plain `string` names and `unknown` results.
 */

import type { CounterOp, MatchSpec, Pattern, TableStats, TableType, Term, Tuple } from '@supercache/storage';
import type { Backend, BackendCursor, ExecOptions, LocalAccess } from './backend.js';
import { fanoutValues } from './builtin.js';
import type { CursorKind } from './shard-set.js';

/** One command's argument list and result. */
export interface CommandSig<A extends readonly unknown[], R> {
  readonly args: A;
  readonly result: R;
}

/** A `next` / `prev` step's answer (see `builtin.ts`): found here, the step, this node's edge key. */
export interface StepAnswer {
  readonly f: boolean;
  readonly n: Term[];
  readonly e: Term[];
}

/**
 * What a fan-out read answers: its items, or on `ordered_set` `[key, item]`
 * pairs (so merges keep key order); {@link fanoutItems} unwraps either.
 */
export type FanoutResult<T> = ReadonlyArray<T | readonly [Term, T]>;

/** The item type of a fan-out read's result. */
export type FanoutItem<R> = R extends FanoutResult<infer T> ? T : never;

/** The items of a fan-out read, typed by the command that produced them. */
export function fanoutItems<T>(result: FanoutResult<T>, type: TableType): T[] {
  return fanoutValues(result, type) as T[];
}

/** `lookupEntries` rows: the object, its expiry (`0`: none) and its version (`null`: none). */
export type EntryRow = readonly [obj: Tuple, expiresAt: number, version: string | null];

/** The built-in shard commands (one partition's table). */
export interface ShardCommandMap {
  insert: CommandSig<readonly [objs: readonly Tuple[], ttl: number | undefined], true>;
  insertNew: CommandSig<readonly [obj: Tuple, ttl: number | undefined], boolean>;
  insertNewMany: CommandSig<readonly [objs: readonly Tuple[], ttl: number | undefined], boolean>;
  anyMember: CommandSig<readonly [keys: readonly Term[]], boolean>;
  deleteObjects: CommandSig<readonly [objs: readonly Tuple[]], true>;
  lookup: CommandSig<readonly [key: Term], Tuple[]>;
  lookupEntries: CommandSig<readonly [key: Term], EntryRow[]>;
  lookupElement: CommandSig<readonly [key: Term, pos: number, defaultValue?: Term], Term>;
  member: CommandSig<readonly [key: Term], boolean>;
  take: CommandSig<readonly [key: Term], Tuple[]>;
  delete: CommandSig<readonly [key: Term], true>;
  deleteObject: CommandSig<readonly [obj: Tuple], true>;
  updateCounter: CommandSig<
    readonly [key: Term, op: CounterOp | readonly CounterOp[], defaultObj: Tuple | null],
    number | number[]
  >;
  updateElement: CommandSig<
    readonly [
      key: Term,
      update: readonly [number, Term] | ReadonlyArray<readonly [number, Term]>,
      defaultObj?: Tuple,
    ],
    boolean
  >;
}

/** The built-in node commands (every table a node holds, merged across nodes). */
export interface NodeCommandMap {
  select: CommandSig<readonly [spec: MatchSpec], FanoutResult<Term>>;
  selectReverse: CommandSig<readonly [spec: MatchSpec], FanoutResult<Term>>;
  match: CommandSig<readonly [pattern: Pattern], FanoutResult<Term[]>>;
  matchObject: CommandSig<readonly [pattern: Pattern], FanoutResult<Tuple>>;
  tab2list: CommandSig<readonly [], FanoutResult<Tuple>>;
  selectCount: CommandSig<readonly [spec: MatchSpec], number>;
  selectDelete: CommandSig<readonly [spec: MatchSpec], number>;
  selectReplace: CommandSig<readonly [spec: MatchSpec], number>;
  matchDelete: CommandSig<readonly [pattern: Pattern], number>;
  deleteAllObjects: CommandSig<readonly [], number>;
  size: CommandSig<readonly [], number>;
  memory: CommandSig<readonly [], number>;
  stats: CommandSig<readonly [], TableStats>;
  next: CommandSig<readonly [key: Term], StepAnswer>;
  prev: CommandSig<readonly [key: Term], StepAnswer>;
  first: CommandSig<readonly [], Term[]>;
  last: CommandSig<readonly [], Term[]>;
}

/** Names of the built-in shard commands. */
export type ShardCommandName = keyof ShardCommandMap;
/** Names of the built-in node commands. */
export type NodeCommandName = keyof NodeCommandMap;

/** Arguments of shard command `N`; any list for a command outside the map. */
export type ShardArgs<N extends string> = N extends ShardCommandName
  ? ShardCommandMap[N]['args']
  : readonly unknown[];
/** Result of shard command `N`; `unknown` for a command outside the map. */
export type ShardResult<N extends string> = N extends ShardCommandName
  ? ShardCommandMap[N]['result']
  : unknown;
/** Arguments of node command `N`; any list for a command outside the map. */
export type NodeArgs<N extends string> = N extends NodeCommandName
  ? NodeCommandMap[N]['args']
  : readonly unknown[];
/** Result of node command `N`; `unknown` for a command outside the map. */
export type NodeResult<N extends string> = N extends NodeCommandName ? NodeCommandMap[N]['result'] : unknown;

/** The shard command names of the map, for a test that the registry serves each. */
export const SHARD_COMMAND_NAMES: readonly ShardCommandName[] = Object.freeze([
  'insert',
  'insertNew',
  'insertNewMany',
  'anyMember',
  'deleteObjects',
  'lookup',
  'lookupEntries',
  'lookupElement',
  'member',
  'take',
  'delete',
  'deleteObject',
  'updateCounter',
  'updateElement',
] satisfies ShardCommandName[]);

/** The node command names of the map. */
export const NODE_COMMAND_NAMES: readonly NodeCommandName[] = Object.freeze([
  'select',
  'selectReverse',
  'match',
  'matchObject',
  'tab2list',
  'selectCount',
  'selectDelete',
  'selectReplace',
  'matchDelete',
  'deleteAllObjects',
  'size',
  'memory',
  'stats',
  'next',
  'prev',
  'first',
  'last',
] satisfies NodeCommandName[]);

/**
 * A {@link Backend} seen through the command map: `exec` and `broadcast`
 * are generic in the command name. Backends implement the untyped
 * {@link Backend} (a command crosses the wire as a name and a list); this is
 * how callers see them.
 */
export interface TypedBackend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  exec<N extends string>(
    partitionData: Term,
    name: N,
    args: ShardArgs<N>,
    options?: ExecOptions,
  ): Promise<ShardResult<N>>;
  broadcast<N extends string>(name: N, args: NodeArgs<N>, options?: ExecOptions): Promise<NodeResult<N>>;
  openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor>;
}

/**
 * The same backend, typed by the command map. No wrapper is made: the map
 * describes what the built-in commands every backend runs answer, so this
 * is the one place that trusts it.
 */
export function typedBackend(backend: Backend): TypedBackend {
  return backend as unknown as TypedBackend;
}
