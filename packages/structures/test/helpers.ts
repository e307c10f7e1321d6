/**
 * Local test setup: a ShardSet with the structures' commands, a
 * LocalBackend partitioned like the real thing, and a TableRouter over it.
 * `JitterBackend` adds random asynchronous delays before a command reaches
 * the shard and before its reply comes back, so concurrent calls interleave
 * the way they would over a network.
 */

import { partitionOf } from '@supercache/partition';
import {
  type Backend,
  type BackendCursor,
  type CursorKind,
  createRegistry,
  type LocalAccess,
  LocalBackend,
  type RouteOptions,
  ShardSet,
  TableRouter,
} from '@supercache/router';
import type { Clock, TableType, Term } from '@supercache/storage';
import { registerStructureCommands } from '../src/index.js';

/** Options of {@link makeRouter}. */
export interface MakeRouterOptions {
  type?: TableType;
  shards?: number;
  clock?: Clock;
  /** Wrap the backend in a {@link JitterBackend} seeded with this value. */
  jitterSeed?: number;
  /** Leave the structures' commands out of the registry. */
  bare?: boolean;
  keyPos?: number;
  partitionPos?: number;
}

/** A router over a fresh local ShardSet, as core builds it. */
export function makeRouter(options: MakeRouterOptions = {}): TableRouter {
  const shards = options.shards ?? 4;
  const registry = createRegistry();
  if (options.bare !== true) registerStructureCommands(registry);
  const set = new ShardSet({
    shards,
    type: options.type ?? 'set',
    keyPos: options.keyPos ?? 0,
    registry,
    sweepIntervalMs: 0,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  let backend: Backend = new LocalBackend({ shards: set, shardOf: (pd) => partitionOf(pd, shards) });
  if (options.jitterSeed !== undefined) backend = new JitterBackend(backend, mulberry32(options.jitterSeed));
  return new TableRouter(
    backend,
    options.partitionPos === undefined ? {} : { partitionPos: options.partitionPos },
  );
}

/** A settable clock. */
export function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** A small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles in place with the given PRNG. */
export function shuffle<T>(xs: T[], rng: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const x = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = x;
  }
  return xs;
}

async function pause(rng: () => number): Promise<void> {
  const r = rng();
  if (r < 0.25) return;
  if (r < 0.75) {
    const n = 1 + Math.floor(rng() * 8);
    for (let i = 0; i < n; i++) await Promise.resolve();
    return;
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A backend that delays requests and replies by a random number of ticks. */
export class JitterBackend implements Backend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly #inner: Backend;
  readonly #rng: () => number;

  constructor(inner: Backend, rng: () => number) {
    this.#inner = inner;
    this.#rng = rng;
    this.type = inner.type;
    this.keyPos = inner.keyPos;
    this.local = inner.local;
  }

  async exec(
    partitionData: Term,
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    await pause(this.#rng);
    const r = await this.#inner.exec(partitionData, name, args, options);
    await pause(this.#rng);
    return r;
  }

  async broadcast(name: string, args: readonly unknown[], options?: RouteOptions): Promise<unknown> {
    await pause(this.#rng);
    const r = await this.#inner.broadcast(name, args, options);
    await pause(this.#rng);
    return r;
  }

  async openCursor(kind: CursorKind, arg: unknown, options?: RouteOptions): Promise<BackendCursor> {
    await pause(this.#rng);
    return this.#inner.openCursor(kind, arg, options);
  }
}

/** The four table types. */
export const TABLE_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];

/** Every record in every shard of a router's local ShardSet. */
export function allRecords(router: TableRouter): Term[][] {
  const out: Term[][] = [];
  for (const t of router.backend.local.shards.tables) for (const e of t.entries()) out.push([...e.obj]);
  return out;
}

/** Indexes of the shards that hold at least one record. */
export function nonEmptyShards(router: TableRouter): number[] {
  const out: number[] = [];
  router.backend.local.shards.tables.forEach((t, i) => {
    if (t.size > 0) out.push(i);
  });
  return out;
}
