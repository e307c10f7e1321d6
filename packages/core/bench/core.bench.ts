/**
 * SuperCache core benchmark: the async API, the synchronous `cache.local`
 * view, `putBatch` and `KeyValue.addBatch`, against a raw `Map` and
 * lru-cache in the same run.
 *
 *     node --expose-gc --conditions=@supercache/source --import tsx bench/core.bench.ts
 *
 * (from packages/core; `pnpm --filter @supercache/core bench` does the same).
 * Environment: `BENCH_N` keys (default 1,000,000), `BENCH_ROUNDS` (default 3;
 * a warm-up round on a tenth of the keys comes first).
 *
 * Every round measures each operation once, baselines included, back to
 * back; a ratio is taken within a round (operation ÷ its baseline in that
 * round) and the median over rounds is reported, so load that drifts
 * during the run moves both sides of a ratio together.
 */

import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { copyData } from '@supercache/router';
import { LRUCache } from 'lru-cache';
import { SuperCache, type Tuple } from '../src/index.js';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = 10_000;
/** Keys of the insertion-order workload. */
const INS = Math.min(200_000, N);
const gc = (globalThis as { gc?: () => void }).gc;

interface Spec {
  readonly name: string;
  /** Which baseline the ratio is taken against. */
  readonly baseline: 'Map.get' | 'Map.set loop' | 'Map.get, insertion order' | 'Map.set loop, 200k' | null;
  /** Minimum ratio we aim for, if any. */
  readonly target?: number;
  readonly note: string;
}

const SPECS: readonly Spec[] = [
  { name: 'Map.set loop', baseline: null, note: `${N} sets into a fresh Map` },
  { name: 'Map.get', baseline: null, note: `${N} gets in random order` },
  { name: 'lru-cache set', baseline: 'Map.set loop', note: `max ${N}` },
  { name: 'lru-cache get', baseline: 'Map.get', note: 'random order' },
  { name: 'cache.local.get', baseline: 'Map.get', target: 0.6, note: 'sync view, probe tuple, random order' },
  {
    name: 'cache.local.get (numPartition 1)',
    baseline: 'Map.get',
    note: 'as cache.local.get with one partition: no partition hash',
  },
  {
    name: 'cache.local.getSameKeyPartition',
    baseline: 'Map.get',
    note: 'sync view, key only, random order',
  },
  { name: 'await cache.get', baseline: 'Map.get', target: 0.3, note: 'one await per get, random order' },
  {
    name: "await cache.get { readMode: 'local' }",
    baseline: 'Map.get',
    note: 'as await cache.get, with an options bag to check on every call',
  },
  {
    name: 'copyData(result tuple)',
    baseline: 'Map.get',
    note: 'the copy an async read makes of each found tuple (cache.local reads share instead)',
  },
  { name: 'await cache.put', baseline: 'Map.set loop', note: 'one await per put' },
  {
    name: 'await cache.put { ttl: 0 }',
    baseline: 'Map.set loop',
    note: 'as await cache.put, with an options bag to check on every call',
  },
  {
    name: `cache.putBatch (${BATCH})`,
    baseline: 'Map.set loop',
    target: 0.5,
    note: `${N / BATCH} batches of ${BATCH} tuples`,
  },
  { name: 'cache.lazyPut + flush', baseline: 'Map.set loop', note: 'no await per call, one flush' },
  {
    name: `KeyValue.addBatch (${BATCH})`,
    baseline: 'Map.set loop',
    note: `${N / BATCH} batches of ${BATCH} pairs`,
  },
  // The issue's second workload: few keys read in the order they were
  // written, where CPU overhead, not cache misses, dominates.
  { name: 'Map.set loop, 200k', baseline: null, note: `${INS} sets into a fresh Map` },
  { name: 'Map.get, insertion order', baseline: null, note: `${INS} gets in insertion order` },
  {
    name: 'cache.local.get, insertion order',
    baseline: 'Map.get, insertion order',
    target: 0.6,
    note: `${INS} keys, read in insertion order`,
  },
  {
    name: 'await cache.get, insertion order',
    baseline: 'Map.get, insertion order',
    target: 0.3,
    note: `${INS} keys, one await per get`,
  },
  {
    name: `cache.putBatch (${INS} in one call)`,
    baseline: 'Map.set loop, 200k',
    target: 0.5,
    note: 'one putBatch of every tuple',
  },
];

// ---- data ------------------------------------------------------------------

const keys: string[] = new Array(N);
const tuples: Tuple[] = new Array(N);
const pairs: Array<readonly [string, number]> = new Array(N);
for (let i = 0; i < N; i++) {
  const k = `user:${i}`;
  keys[i] = k;
  tuples[i] = [k, i];
  pairs[i] = [k, i];
}
// A fixed shuffle (xorshift) so every run reads in the same random order.
const order = new Int32Array(N);
for (let i = 0; i < N; i++) order[i] = i;
let seed = 0x2545f491;
for (let i = N - 1; i > 0; i--) {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  const j = (seed >>> 0) % (i + 1);
  const t = order[i] as number;
  order[i] = order[j] as number;
  order[j] = t;
}
const tupleBatches: Tuple[][] = [];
const pairBatches: Array<Array<readonly [string, number]>> = [];
for (let i = 0; i < N; i += BATCH) {
  tupleBatches.push(tuples.slice(i, i + BATCH));
  pairBatches.push(pairs.slice(i, i + BATCH));
}

let sink = 0;

/** Every measured read must find its key; a loop that silently does nothing would fake the figures. */
function found(name: string, hits: number): void {
  sink += hits;
  // The warm-up round reads keys it did not write; only full rounds are checked.
  if (n === N && hits !== n) throw new Error(`${name} found ${hits} of ${n} keys`);
}

function opsPerSec(ops: number, start: bigint): number {
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Operations per timed section: N, or less in the warm-up round. */
let n = N;

function time(f: () => void): number {
  gc?.();
  const start = process.hrtime.bigint();
  f();
  return opsPerSec(n, start);
}

/** As {@link time}, for `ops` operations. */
function opsPerSecOf(ops: number, f: () => void): number {
  gc?.();
  const start = process.hrtime.bigint();
  f();
  return opsPerSec(ops, start);
}

/** As {@link found}, for a section of `ops` reads of written keys. */
function foundOf(name: string, hits: number, ops: number): void {
  sink += hits;
  if (hits !== ops) throw new Error(`${name} found ${hits} of ${ops} keys`);
}

async function timeAsync(f: () => Promise<void>): Promise<number> {
  gc?.();
  const start = process.hrtime.bigint();
  await f();
  return opsPerSec(n, start);
}

async function freshCache(): Promise<SuperCache> {
  const cache = new SuperCache({ sweepIntervalMs: 0 });
  await cache.start();
  return cache;
}

async function round(ops: number): Promise<Map<string, number>> {
  n = ops;
  const r = new Map<string, number>();
  const batches = Math.ceil(ops / BATCH);

  let map = new Map<string, Tuple>();
  r.set(
    'Map.set loop',
    time(() => {
      for (let i = 0; i < n; i++) map.set(keys[i] as string, tuples[i] as Tuple);
    }),
  );
  r.set(
    'Map.get',
    time(() => {
      let hits = 0;
      for (let i = 0; i < n; i++) if (map.get(keys[order[i] as number] as string) !== undefined) hits++;
      found('Map.get', hits);
    }),
  );
  map = new Map();

  let lru: LRUCache<string, Tuple> | undefined = new LRUCache<string, Tuple>({ max: N });
  const l = lru;
  r.set(
    'lru-cache set',
    time(() => {
      for (let i = 0; i < n; i++) l.set(keys[i] as string, tuples[i] as Tuple);
    }),
  );
  r.set(
    'lru-cache get',
    time(() => {
      let hits = 0;
      for (let i = 0; i < n; i++) if (l.get(keys[order[i] as number] as string) !== undefined) hits++;
      found('lru-cache get', hits);
    }),
  );
  lru = undefined;

  let cache = await freshCache();
  const c = cache;
  r.set(
    `cache.putBatch (${BATCH})`,
    await timeAsync(async () => {
      for (let b = 0; b < batches; b++) await c.putBatch(tupleBatches[b] as Tuple[]);
    }),
  );
  const local = cache.local;
  r.set(
    'cache.local.get',
    time(() => {
      let hits = 0;
      const probe: [string] = [''];
      for (let i = 0; i < n; i++) {
        probe[0] = keys[order[i] as number] as string;
        hits += local.get(probe).length;
      }
      found('cache.local.get', hits);
    }),
  );
  r.set(
    'cache.local.getSameKeyPartition',
    time(() => {
      let hits = 0;
      for (let i = 0; i < n; i++)
        hits += local.getSameKeyPartition(keys[order[i] as number] as string).length;
      found('cache.local.getSameKeyPartition', hits);
    }),
  );
  r.set(
    'await cache.get',
    await timeAsync(async () => {
      let hits = 0;
      const probe: [string] = [''];
      for (let i = 0; i < n; i++) {
        probe[0] = keys[order[i] as number] as string;
        hits += (await c.get(probe)).length;
      }
      found('await cache.get', hits);
    }),
  );
  const readLocal = { readMode: 'local' } as const;
  r.set(
    "await cache.get { readMode: 'local' }",
    await timeAsync(async () => {
      let hits = 0;
      const probe: [string] = [''];
      for (let i = 0; i < n; i++) {
        probe[0] = keys[order[i] as number] as string;
        hits += (await c.get(probe, readLocal)).length;
      }
      found("await cache.get { readMode: 'local' }", hits);
    }),
  );
  r.set(
    'copyData(result tuple)',
    time(() => {
      let hits = 0;
      for (let i = 0; i < n; i++) hits += copyData(tuples[order[i] as number] as Tuple).length > 0 ? 1 : 0;
      found('copyData(result tuple)', hits);
    }),
  );
  await cache.stop();

  cache = new SuperCache({ sweepIntervalMs: 0, numPartition: 1 });
  await cache.start();
  const one = cache;
  for (let b = 0; b < batches; b++) await one.putBatch(tupleBatches[b] as Tuple[]);
  const local1 = one.local;
  r.set(
    'cache.local.get (numPartition 1)',
    time(() => {
      let hits = 0;
      const probe: [string] = [''];
      for (let i = 0; i < n; i++) {
        probe[0] = keys[order[i] as number] as string;
        hits += local1.get(probe).length;
      }
      found('cache.local.get (numPartition 1)', hits);
    }),
  );
  await cache.stop();

  cache = await freshCache();
  const c2 = cache;
  r.set(
    'await cache.put',
    await timeAsync(async () => {
      for (let i = 0; i < n; i++) await c2.put(tuples[i] as Tuple);
    }),
  );
  const noTtl = { ttl: 0 };
  r.set(
    'await cache.put { ttl: 0 }',
    await timeAsync(async () => {
      for (let i = 0; i < n; i++) await c2.put(tuples[i] as Tuple, noTtl);
    }),
  );
  await cache.stop();

  cache = await freshCache();
  const c3 = cache;
  r.set(
    'cache.lazyPut + flush',
    await timeAsync(async () => {
      for (let i = 0; i < n; i++) {
        const p = c3.lazyPut(tuples[i] as Tuple);
        // Only a full buffer makes lazyPut wait; await it then (backpressure).
        if ((i & 0xffff) === 0xffff) await p;
      }
      await c3.flush();
    }),
  );
  if (c3.local.size !== n) throw new Error(`lazyPut wrote ${c3.local.size} of ${n}`);
  await cache.stop();

  // Insertion order over 200k keys (a tenth in the warm-up round).
  const ins = Math.min(INS, n);
  const insTuples = tuples.slice(0, ins);
  const insMap = new Map<string, Tuple>();
  r.set(
    'Map.set loop, 200k',
    opsPerSecOf(ins, () => {
      for (let i = 0; i < ins; i++) insMap.set(keys[i] as string, insTuples[i] as Tuple);
    }),
  );
  r.set(
    'Map.get, insertion order',
    opsPerSecOf(ins, () => {
      let hits = 0;
      for (let i = 0; i < ins; i++) if (insMap.get(keys[i] as string) !== undefined) hits++;
      foundOf('Map.get, insertion order', hits, ins);
    }),
  );
  cache = await freshCache();
  const c4 = cache;
  gc?.();
  let t0 = process.hrtime.bigint();
  await c4.putBatch(insTuples);
  r.set(`cache.putBatch (${INS} in one call)`, ins / (Number(process.hrtime.bigint() - t0) / 1e9));
  const local4 = c4.local;
  r.set(
    'cache.local.get, insertion order',
    opsPerSecOf(ins, () => {
      let hits = 0;
      const probe: [string] = [''];
      for (let i = 0; i < ins; i++) {
        probe[0] = keys[i] as string;
        hits += local4.get(probe).length;
      }
      foundOf('cache.local.get, insertion order', hits, ins);
    }),
  );
  gc?.();
  t0 = process.hrtime.bigint();
  {
    let hits = 0;
    const probe: [string] = [''];
    for (let i = 0; i < ins; i++) {
      probe[0] = keys[i] as string;
      hits += (await c4.get(probe)).length;
    }
    foundOf('await cache.get, insertion order', hits, ins);
  }
  r.set('await cache.get, insertion order', ins / (Number(process.hrtime.bigint() - t0) / 1e9));
  await cache.stop();

  cache = await freshCache();
  const kv = cache.keyValue<string, number>('bench');
  r.set(
    `KeyValue.addBatch (${BATCH})`,
    await timeAsync(async () => {
      for (let b = 0; b < batches; b++) await kv.addBatch(pairBatches[b] as Array<readonly [string, number]>);
    }),
  );
  await cache.stop();
  return r;
}

/** Memory target: a SuperCache holding N tuples, per entry, against a `Map` of the same arrays. */
const MEMORY_TARGET = 1.5;

/**
 * Heap bytes per entry of a `Map<string, [k, v]>` and of a started
 * SuperCache holding the same N tuples (fresh arrays for each; the key
 * strings are shared by both and counted by neither). Needs --expose-gc.
 */
async function memoryPerEntry(): Promise<{ map: number; cache: number; ratio: number } | undefined> {
  if (gc === undefined) return undefined;
  const settle = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  let before = settle();
  let map: Map<string, Tuple> | undefined = new Map();
  for (let i = 0; i < N; i++) map.set(keys[i] as string, [keys[i] as string, i]);
  const mapBytes = (settle() - before) / N;
  if (map.size !== N) throw new Error('the memory baseline lost keys');
  map = undefined;
  before = settle();
  const cache = await freshCache();
  for (let i = 0; i < N; i += BATCH) {
    const batch: Tuple[] = [];
    for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push([keys[j] as string, j]);
    await cache.putBatch(batch);
  }
  const cacheBytes = (settle() - before) / N;
  if (cache.local.size !== N) throw new Error(`the cache holds ${cache.local.size} of ${N} tuples`);
  await cache.stop();
  return { map: mapBytes, cache: cacheBytes, ratio: cacheBytes / mapBytes };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function fmt(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  return `${(ops / 1e3).toFixed(0)} k`;
}

async function main(): Promise<void> {
  const began = Date.now();
  const load = loadavg()[0] ?? 0;
  const rounds: Array<Map<string, number>> = [];
  // One unmeasured warm-up round lets the JIT settle.
  process.stdout.write('warm-up… ');
  await round(Math.max(BATCH, Math.floor(N / 10 / BATCH) * BATCH));
  for (let i = 0; i < ROUNDS; i++) {
    process.stdout.write(`round ${i + 1}/${ROUNDS}… `);
    rounds.push(await round(N));
  }
  process.stdout.write('\n\n');

  const results = SPECS.map((s) => {
    const ops = median(rounds.map((r) => r.get(s.name) as number));
    const ratio =
      s.baseline === null
        ? null
        : median(rounds.map((r) => (r.get(s.name) as number) / (r.get(s.baseline as string) as number)));
    return {
      name: s.name,
      opsPerSec: Math.round(ops),
      baseline: s.baseline,
      ratio: ratio === null ? null : Number(ratio.toFixed(3)),
      target: s.target ?? null,
      meetsTarget: s.target === undefined || ratio === null ? null : ratio >= s.target,
      note: s.note,
    };
  });

  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {}
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: Number(load.toFixed(2)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };

  console.log(`SuperCache core benchmark — ${N.toLocaleString('en')} keys, ${ROUNDS} rounds (median)`);
  console.log(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, commit ${commit}, load ${machine.loadAverageAtStart}, ` +
      `numPartition ${availableParallelism()}${gc === undefined ? '' : ', --expose-gc'}\n`,
  );
  console.log('| Operation | ops/s | vs baseline | ratio | target | |');
  console.log('|---|---:|---|---:|---:|---|');
  for (const r of results) {
    const verdict = r.meetsTarget === null ? '' : r.meetsTarget ? 'met' : 'MISSED';
    console.log(
      `| ${r.name} | ${fmt(r.opsPerSec)} | ${r.baseline ?? '—'} | ${r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`} | ` +
        `${r.target === null ? '' : `≥ ${r.target}×`} | ${verdict} |`,
    );
  }
  const memory = await memoryPerEntry();
  if (memory === undefined) console.log('\nmemory: skipped (run with --expose-gc, as pnpm bench does)');
  else {
    console.log(
      `\nmemory per entry, ${N.toLocaleString('en')} tuples [key, i]: Map of arrays ${memory.map.toFixed(1)} B, ` +
        `SuperCache ${memory.cache.toFixed(1)} B — ${memory.ratio.toFixed(2)}× (target ≤ ${MEMORY_TARGET}×: ` +
        `${memory.ratio <= MEMORY_TARGET ? 'met' : 'MISSED'})`,
    );
  }
  const seconds = (Date.now() - began) / 1000;
  console.log(`\n(${seconds.toFixed(1)} s; sink ${sink % 10})`);

  const out = {
    benchmark: 'core',
    date: new Date().toISOString(),
    commit,
    machine,
    keys: N,
    rounds: ROUNDS,
    batch: BATCH,
    numPartition: availableParallelism(),
    seconds: Number(seconds.toFixed(1)),
    results,
    memory:
      memory === undefined
        ? null
        : {
            mapBytesPerEntry: Number(memory.map.toFixed(1)),
            superCacheBytesPerEntry: Number(memory.cache.toFixed(1)),
            ratio: Number(memory.ratio.toFixed(3)),
            target: MEMORY_TARGET,
            meetsTarget: memory.ratio <= MEMORY_TARGET,
          },
  };
  const dir = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}core.json`, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${dir}core.json`);
}

await main();
