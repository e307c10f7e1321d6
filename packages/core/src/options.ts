/**
 * SuperCache options: their types, defaults and validation. Every invalid
 * option fails fast, in the constructor, with `SC_ERR_BAD_CONFIG` naming the
 * field and the value.
 */

import { availableParallelism } from 'node:os';
import type { FlushOn } from '@supercache/buffer';
import type { Clock, TableType } from '@supercache/storage';
import type { ClusterProviderFactory, ReplicationMode } from './backend.js';
import { badConfig } from './errors.js';
import { type HealthOptions, type HealthThresholds, resolveHealthOptions } from './health-options.js';
import { type Logger, loggerOption } from './log.js';

/** Where a SuperCache keeps its data. */
export type ClusterMode = 'local' | 'distributed';

/** Read modes of distributed mode; every one reads this node's copy in local mode. */
export type ReadMode = 'local' | 'primary' | 'quorum';

/** Options of the `lazyPut` write buffer (see `@supercache/buffer`'s `WriteBuffer`). */
export interface LazyPutOptions {
  /** Most tuples written in one batch. @defaultValue 1024 */
  maxBatch?: number;
  /**
   * Most tuples queued but not yet written. When reached, `lazyPut` returns
   * a promise that resolves once there is room (backpressure).
   * @defaultValue 65536
   */
  maxPending?: number;
  /**
   * Most `lazyPut` calls that may wait for room at once; one more fails
   * with `SC_ERR_BUFFER_FULL` (retryable). `0` makes a full buffer fail at once.
   * @defaultValue 65536
   */
  maxWaiting?: number;
  /**
   * When a partly filled batch is written: `'immediate'` (next event-loop
   * turn), `'microtask'`, or `'manual'` (only on a full batch, `flush()` or
   * `stop()`). @defaultValue 'immediate'
   */
  flushOn?: FlushOn;
  /** Called with the error and the tuples of a batch that failed to write. */
  onError?: (error: unknown, batch: readonly (readonly unknown[])[]) => void;
}

/** Options of `new SuperCache(options)`. Every field is optional. */
export interface SuperCacheOptions {
  /** 0-based position of the key in every tuple. @defaultValue 0 */
  keyPos?: number;
  /**
   * 0-based position of the element hashed to choose a tuple's partition.
   * Tuples with equal partition data live in the same partition.
   * @defaultValue 0
   */
  partitionPos?: number;
  /**
   * Number of partitions (storage tables). Must be the same on every node of
   * a cluster. More partitions make fan-out reads (`getByMatch`, `scan`)
   * visit more tables. @defaultValue `os.availableParallelism()`
   */
  numPartition?: number;
  /** Table type of the tuple table and of KeyValue namespaces. @defaultValue 'set' */
  tableType?: TableType;
  /**
   * Default time to live of tuples in milliseconds; `0` or `Infinity` means
   * none. `put(tuple, { ttl })` overrides it. Applies to the tuple table
   * only. @defaultValue 0
   */
  ttl?: number;
  /**
   * Most tuples kept; past it the least recently used keys are evicted. Each
   * partition gets an equal share (rounded up). `0` means no limit. Applies
   * to the tuple table only. @defaultValue 0
   */
  maxEntries?: number;
  /**
   * Most estimated bytes of tuples kept, shared like `maxEntries`. `0` means
   * no limit. @defaultValue 0
   */
  maxBytes?: number;
  /** Time source for TTL, injectable for tests. @defaultValue `{ now: Date.now }` */
  clock?: Clock;
  /**
   * Interval of each partition's background expiry sweep in milliseconds;
   * `0` disables the timer (expired tuples stay invisible).
   * @defaultValue 1000
   */
  sweepIntervalMs?: number;
  /** `'local'` (one process) or `'distributed'` (needs `clusterProvider`). @defaultValue 'local' */
  cluster?: ClusterMode;
  /** Replication of distributed writes. Inert in local mode. @defaultValue 'async' */
  replicationMode?: ReplicationMode;
  /**
   * Copies of each partition, primary included (integer ≥ 1). Inert in local
   * mode. The cluster package keeps one copy per partition for now (replica
   * sets are not built yet): in distributed mode this defaults to 1, and
   * `clusterProvider()` refuses a larger value with `SC_ERR_BAD_CONFIG`
   * rather than silently keeping one copy.
   * @defaultValue 2 in local mode (the seed's default); 1 in distributed mode
   */
  replicationFactor?: number;
  /** Peer addresses of the cluster. @defaultValue [] */
  peers?: readonly string[];
  /** Alias of `peers` (the seed's `cluster_peers`). @defaultValue [] */
  clusterPeers?: readonly string[];
  /** This node's id. @defaultValue 'local' in local mode; the cluster's choice in distributed mode */
  nodeId?: string;
  /** Write buffer of `lazyPut`. @defaultValue see {@link LazyPutOptions} */
  lazyPut?: LazyPutOptions;
  /**
   * Distributed mode's hook: `clusterProvider` from `@supercache/core/cluster`. Required when
   * `cluster` is `'distributed'`; ignored in local mode.
   */
  clusterProvider?: ClusterProviderFactory;
  /**
   * Health checks: their interval and alert thresholds (see `health()`).
   * @defaultValue `{ intervalMs: 5000, latencyMs: 100, lagMs: 500, errorRate: 0.05, imbalance: 0.3 }`
   */
  health?: HealthOptions;
  /**
   * A pino-compatible logger (`{ debug, info, warn, error }`) for lifecycle
   * lines, health alerts and, while debug is on (`setDebug(true)` or
   * `NODE_DEBUG=supercache`), debug lines. @defaultValue none: debug lines
   * only, to stderr
   */
  logger?: Logger;
}

/** The validated configuration of a SuperCache, with every default filled in. */
export interface SuperCacheConfig {
  readonly keyPos: number;
  readonly partitionPos: number;
  readonly numPartition: number;
  readonly tableType: TableType;
  readonly ttl: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly clock: Clock | undefined;
  readonly sweepIntervalMs: number | undefined;
  readonly cluster: ClusterMode;
  readonly replicationMode: ReplicationMode;
  readonly replicationFactor: number;
  readonly peers: readonly string[];
  readonly nodeId: string | undefined;
  readonly lazyPut: Readonly<LazyPutOptions>;
  readonly clusterProvider: ClusterProviderFactory | undefined;
  readonly health: HealthThresholds;
  readonly logger: Logger | undefined;
}

/** Table types accepted everywhere. */
export const TABLE_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const CLUSTER_MODES: readonly ClusterMode[] = ['local', 'distributed'];
/** Replication modes accepted everywhere. */
export const REPLICATION_MODES: readonly ReplicationMode[] = ['async', 'sync', 'strong'];
const FLUSH_ON: readonly FlushOn[] = ['immediate', 'microtask', 'manual'];
/** The most partitions one node holds (a router `ShardSet` limit). */
export const MAX_PARTITIONS = 65_536;

const SUPERCACHE_KEYS = new Set<string>([
  'keyPos',
  'partitionPos',
  'numPartition',
  'tableType',
  'ttl',
  'maxEntries',
  'maxBytes',
  'clock',
  'sweepIntervalMs',
  'cluster',
  'replicationMode',
  'replicationFactor',
  'peers',
  'clusterPeers',
  'nodeId',
  'lazyPut',
  'clusterProvider',
  'health',
  'logger',
]);
const LAZY_KEYS = new Set<string>(['maxBatch', 'maxPending', 'maxWaiting', 'flushOn', 'onError']);

/** `num_partition` → `numPartition`, for a friendlier unknown-option message. */
function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Rejects keys the options type does not know: a misspelt option would
 * otherwise be ignored silently.
 */
export function checkKnownKeys(
  owner: string,
  options: object,
  known: ReadonlySet<string>,
  prefix = '',
): void {
  for (const k of Object.keys(options)) {
    if (known.has(k)) continue;
    const hint = known.has(camel(k)) ? ` (did you mean ${camel(k)}?)` : '';
    throw badConfig(owner, `${prefix}${k}`, `a known option${hint}`, (options as Record<string, unknown>)[k]);
  }
}

/** A non-negative integer option. */
export function intOption(
  owner: string,
  field: string,
  v: unknown,
  dflt: number,
  min = 0,
  max = 2 ** 31,
): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badConfig(owner, field, `an integer from ${min} to ${max}`, v);
  }
  return v;
}

/** A TTL: a non-negative number of milliseconds, `Infinity` allowed. */
export function ttlOption(owner: string, field: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw badConfig(owner, field, 'a number of milliseconds ≥ 0 (0 or Infinity: no expiry)', v);
  }
  return v;
}

/** One of a list of strings. */
export function enumOption<T extends string>(
  owner: string,
  field: string,
  v: unknown,
  allowed: readonly T[],
  dflt: T,
): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw badConfig(owner, field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  }
  return v as T;
}

/** A `Clock`: an object with a `now()` function. */
export function clockOption(owner: string, v: unknown): Clock | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || typeof (v as { now?: unknown }).now !== 'function') {
    throw badConfig(owner, 'clock', 'an object with a now() method returning milliseconds', v);
  }
  return v as Clock;
}

function peersOption(owner: string, field: string, v: unknown): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw badConfig(owner, field, 'an array of peer ids or addresses', v);
  v.forEach((p, i) => {
    if (typeof p !== 'string' || p.length === 0)
      throw badConfig(owner, `${field}[${i}]`, 'a non-empty string', p);
  });
  return Object.freeze([...(v as string[])]);
}

/** A function option. */
export function fnOption<F>(owner: string, field: string, v: unknown): F | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'function') throw badConfig(owner, field, 'a function', v);
  return v as F;
}

/** A non-empty string option. */
export function stringOption(owner: string, field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw badConfig(owner, field, 'a non-empty string', v);
  return v;
}

function lazyPutOption(v: unknown): Readonly<LazyPutOptions> {
  if (v === undefined) return Object.freeze({});
  const owner = 'SuperCache';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw badConfig(owner, 'lazyPut', 'an object of write-buffer options', v);
  }
  checkKnownKeys(owner, v, LAZY_KEYS, 'lazyPut.');
  const o = v as Record<string, unknown>;
  const out: LazyPutOptions = {};
  if (o.maxBatch !== undefined) out.maxBatch = intOption(owner, 'lazyPut.maxBatch', o.maxBatch, 1024, 1);
  if (o.maxPending !== undefined)
    out.maxPending = intOption(owner, 'lazyPut.maxPending', o.maxPending, 65_536, 1);
  if (o.maxWaiting !== undefined)
    out.maxWaiting = intOption(owner, 'lazyPut.maxWaiting', o.maxWaiting, 65_536, 0);
  if (o.flushOn !== undefined)
    out.flushOn = enumOption(owner, 'lazyPut.flushOn', o.flushOn, FLUSH_ON, 'immediate');
  const onError = fnOption<LazyPutOptions['onError']>(owner, 'lazyPut.onError', o.onError);
  if (onError !== undefined) out.onError = onError;
  return Object.freeze(out);
}

/**
 * Validates SuperCache options and fills in the defaults.
 *
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the first invalid field
 *   and its value, including unknown fields and `cluster: 'distributed'`
 *   without a `clusterProvider`.
 */
export function resolveSuperCacheOptions(options: SuperCacheOptions | undefined): SuperCacheConfig {
  const owner = 'SuperCache';
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badConfig(owner, 'options', 'an options object', options);
  }
  checkKnownKeys(owner, options, SUPERCACHE_KEYS);
  const o = options as Record<string, unknown>;
  const keyPos = intOption(owner, 'keyPos', o.keyPos, 0);
  const partitionPos = intOption(owner, 'partitionPos', o.partitionPos, 0);
  const numPartition = intOption(owner, 'numPartition', o.numPartition, 0, 1, MAX_PARTITIONS);
  const tableType = enumOption(owner, 'tableType', o.tableType, TABLE_TYPES, 'set');
  const ttl = ttlOption(owner, 'ttl', o.ttl);
  const maxEntries = intOption(owner, 'maxEntries', o.maxEntries, 0, 0, Number.MAX_SAFE_INTEGER);
  const maxBytes = intOption(owner, 'maxBytes', o.maxBytes, 0, 0, Number.MAX_SAFE_INTEGER);
  const clock = clockOption(owner, o.clock);
  const sweepIntervalMs =
    o.sweepIntervalMs === undefined
      ? undefined
      : intOption(owner, 'sweepIntervalMs', o.sweepIntervalMs, 1000, 0, Number.MAX_SAFE_INTEGER);
  const cluster = enumOption(owner, 'cluster', o.cluster, CLUSTER_MODES, 'local');
  const replicationMode = enumOption(owner, 'replicationMode', o.replicationMode, REPLICATION_MODES, 'async');
  const replicationFactor = intOption(
    owner,
    'replicationFactor',
    o.replicationFactor,
    cluster === 'distributed' ? 1 : 2,
    1,
    1024,
  );

  const peers = peersOption(owner, 'peers', o.peers);
  const clusterPeers = peersOption(owner, 'clusterPeers', o.clusterPeers);
  if (peers !== undefined && clusterPeers !== undefined && peers.join('\n') !== clusterPeers.join('\n')) {
    throw badConfig(
      owner,
      'clusterPeers',
      'the same list as peers (it is an alias; give one of them)',
      clusterPeers,
    );
  }
  const nodeId = stringOption(owner, 'nodeId', o.nodeId);
  const lazyPut = lazyPutOption(o.lazyPut);
  const clusterProvider = fnOption<ClusterProviderFactory>(owner, 'clusterProvider', o.clusterProvider);
  if (cluster === 'distributed' && clusterProvider === undefined) {
    throw badConfig(
      owner,
      'cluster',
      "'local', or 'distributed' together with the cluster options: `peers` (or `clusterPeers`) and a " +
        '`clusterProvider` from @supercache/core/cluster; distributed mode has no cluster to join without them',
      cluster,
    );
  }
  const health = resolveHealthOptions(owner, o.health);
  const logger = loggerOption(owner, o.logger);
  return Object.freeze({
    keyPos,
    partitionPos,
    numPartition:
      o.numPartition === undefined ? Math.min(availableParallelism(), MAX_PARTITIONS) : numPartition,
    tableType,
    ttl,
    maxEntries,
    maxBytes,
    clock,
    sweepIntervalMs,
    cluster,
    replicationMode,
    replicationFactor,
    peers: peers ?? clusterPeers ?? Object.freeze([]),
    nodeId,
    lazyPut,
    clusterProvider,
    health,
    logger,
  });
}
