/**
 * Storage benchmarks: Table against raw Map, lru-cache 11 and a Map keyed by
 * JSON.stringify, in one run, median of several rounds.
 *
 * Run from the repository root:
 *
 * ```sh
 * pnpm exec tsx --conditions=@supercache/source packages/storage/bench/storage.bench.ts
 * # exact heap figures (otherwise gc is enabled at run time through v8 flags):
 * node --expose-gc --import tsx --conditions=@supercache/source packages/storage/bench/storage.bench.ts
 * ```
 *
 * Environment: `BENCH_N` (keys, default 1,000,000), `BENCH_ROUNDS`
 * (default 5). Prints a markdown table and writes
 * `bench/results/storage.json` (repo root).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Table, type Tuple } from '@supercache/storage';
import { LRUCache } from 'lru-cache';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

type Gc = () => void;
function getGc(): Gc | undefined {
  const g = (globalThis as { gc?: Gc }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as Gc;
  } catch {
    return undefined;
  }
}
const gc = getGc();

// Deterministic shuffle (xorshift) so every structure sees the same order.
function permutation(n: number, seed = 0x9e3779b9): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

const keys: string[] = new Array(N);
for (let i = 0; i < N; i++) keys[i] = `key:${i}`;
// Inserts in one random order, lookups in another, so no structure gains
// from reading records in the order it allocated them.
const order = permutation(N);
const readOrder = permutation(N, 0x2545f491);
const shuffled: string[] = new Array(N);
const probes: string[] = new Array(N);
for (let i = 0; i < N; i++) {
  shuffled[i] = keys[order[i] as number] as string;
  probes[i] = keys[readOrder[i] as number] as string;
}

let sink = 0;

/** Median ops/sec of `fn`, which performs `ops` operations per call; `setup` runs untimed before each round. */
function measure(ops: number, fn: () => void, setup?: () => void, rounds = ROUNDS): number {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    setup?.();
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(ops / dt);
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1] as number;
}

interface Row {
  name: string;
  opsPerSec: number;
  baseline: string;
  baselineOpsPerSec: number;
  ratio: number;
  target?: string;
  pass?: boolean;
}
const rows: Row[] = [];
function row(name: string, ops: number, baseline: string, base: number, target?: number): void {
  const r: Row = { name, opsPerSec: ops, baseline, baselineOpsPerSec: base, ratio: ops / base };
  if (target !== undefined) {
    r.target = `>= ${target}x`;
    r.pass = r.ratio >= target;
  }
  rows.push(r);
  process.stderr.write(`  ${name}: ${fmt(ops)} ops/s (${r.ratio.toFixed(2)}x ${baseline})\n`);
}
function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`;
}

// ---------------------------------------------------------------------------
// String keys: insert

process.stderr.write(`storage bench: N=${N}, rounds=${ROUNDS}, node ${process.version}\n`);

let map = new Map<string, Tuple>();
let lru = new LRUCache<string, Tuple>({ max: N + 1 });
let table = new Table();

const mapInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const k = shuffled[i] as string;
      map.set(k, [k, i]);
    }
  },
  () => {
    map = new Map();
    gc?.();
  },
);
const lruInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const k = shuffled[i] as string;
      lru.set(k, [k, i]);
    }
  },
  () => {
    lru = new LRUCache<string, Tuple>({ max: N + 1 });
    gc?.();
  },
);
const tableInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const k = shuffled[i] as string;
      table.insert([k, i]);
    }
  },
  () => {
    table = new Table();
    gc?.();
  },
);
row('set insert, string keys', tableInsert, 'Map.set', mapInsert, 0.5);
row('set insert, string keys', tableInsert, 'lru-cache set', lruInsert, 1);

// ---------------------------------------------------------------------------
// String keys: lookup (structures left full by the last insert round)

const mapGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++) if (map.get(probes[i] as string) !== undefined) c++;
  sink += c;
});
const lruGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++) if (lru.get(probes[i] as string) !== undefined) c++;
  sink += c;
});
const tableGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++) c += table.lookup(probes[i] as string).length;
  sink += c;
});
row('set lookup, string keys', tableGet, 'Map.get', mapGet, 0.7);
row('set lookup, string keys', tableGet, 'lru-cache get', lruGet, 1);

map = new Map();
lru = new LRUCache<string, Tuple>({ max: 1 });
table = new Table();
gc?.();

// With a capacity limit: LRU bookkeeping on every read and write.
let capped = new Table({ maxEntries: N + 1 });
const cappedInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const k = shuffled[i] as string;
      capped.insert([k, i]);
    }
  },
  () => {
    capped = new Table({ maxEntries: N + 1 });
    gc?.();
  },
);
const cappedGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++) c += capped.lookup(probes[i] as string).length;
  sink += c;
});
row('set insert, maxEntries (LRU on)', cappedInsert, 'lru-cache set', lruInsert);
row('set lookup, maxEntries (LRU on)', cappedGet, 'lru-cache get', lruGet);
capped = new Table();
gc?.();

// ---------------------------------------------------------------------------
// Composite keys ['user', i] against a Map keyed by JSON.stringify

let jmap = new Map<string, Tuple>();
let ctable = new Table();
const jsonInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const j = order[i] as number;
      const k = ['user', j];
      jmap.set(JSON.stringify(k), [k, j]);
    }
  },
  () => {
    jmap = new Map();
    gc?.();
  },
);
const compInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const j = order[i] as number;
      ctable.insert([['user', j], j]);
    }
  },
  () => {
    ctable = new Table();
    gc?.();
  },
);
const jsonGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++)
    if (jmap.get(JSON.stringify(['user', readOrder[i] as number])) !== undefined) c++;
  sink += c;
});
const compGet = measure(N, () => {
  let c = 0;
  for (let i = 0; i < N; i++) c += ctable.lookup(['user', readOrder[i] as number]).length;
  sink += c;
});
row("set insert, composite keys ['user', i]", compInsert, 'Map.set(JSON.stringify(k))', jsonInsert);
row("set lookup, composite keys ['user', i]", compGet, 'Map.get(JSON.stringify(k))', jsonGet, 1);
jmap = new Map();
ctable = new Table();
gc?.();

// ---------------------------------------------------------------------------
// ordered_set: insert in random order, walk in key order

let ordered = new Table({ type: 'ordered_set' });
const orderedInsert = measure(
  N,
  () => {
    for (let i = 0; i < N; i++) {
      const k = shuffled[i] as string;
      ordered.insert([k, i]);
    }
  },
  () => {
    ordered = new Table({ type: 'ordered_set' });
    gc?.();
  },
  3,
);
// Baseline: what the same keys cost to keep sorted with a plain array sort.
const sortBaseline = measure(N, () => {
  const a = shuffled.slice();
  a.sort();
  sink += a.length;
});
row('ordered_set insert (random order)', orderedInsert, 'Array.prototype.sort of the keys', sortBaseline);
row('ordered_set insert (random order)', orderedInsert, 'set insert', tableInsert);

let walkMap = new Map<string, Tuple>();
for (const k of keys) walkMap.set(k, [k, 0]);
const mapIter = measure(N, () => {
  let c = 0;
  for (const v of walkMap.values()) c += v.length;
  sink += c;
});
const walkNext = measure(N, () => {
  let c = 0;
  for (let k = ordered.first(); k !== undefined; k = ordered.next(k)) c++;
  sink += c;
});
const walkFold = measure(N, () => {
  sink += ordered.foldl((o, acc) => acc + o.length, 0);
});
row('ordered_set walk first/next', walkNext, 'Map iteration', mapIter);
row('ordered_set walk foldl', walkFold, 'Map iteration', mapIter);
walkMap = new Map();
ordered = new Table({ type: 'ordered_set' });
gc?.();

// ---------------------------------------------------------------------------
// Memory per entry

interface MemRow {
  name: string;
  bytesPerEntry: number;
  ratioVsMap: number;
}
const mem: MemRow[] = [];
function heapDelta(build: () => unknown): number {
  if (gc === undefined) return Number.NaN;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = build();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  sink += kept === undefined ? 0 : 1;
  return (after - before) / N;
}
// Fresh key strings and tuples inside each build, so both sides pay for them.
const mapBytes = heapDelta(() => {
  const m = new Map<string, Tuple>();
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    m.set(k, [k, i]);
  }
  return m;
});
const tableBytes = heapDelta(() => {
  const t = new Table();
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    t.insert([k, i]);
  }
  return t;
});
const tableReadBytes = heapDelta(() => {
  const t = new Table();
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    t.insert([k, i]);
    t.lookup(k);
  }
  return t;
});
// The same set once it keeps a record per key (any walk, TTL or array key
// converts it), and with a capacity limit (records plus the LRU queue).
const recordBytes = heapDelta(() => {
  const t = new Table();
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    t.insert([k, i]);
  }
  t.first();
  return t;
});
const cappedBytes = heapDelta(() => {
  const t = new Table({ maxEntries: N + 1 });
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    t.insert([k, i]);
  }
  return t;
});
const lruBytes = heapDelta(() => {
  const c = new LRUCache<string, Tuple>({ max: N + 1 });
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    c.set(k, [k, i]);
  }
  return c;
});
const orderedBytes = heapDelta(() => {
  const t = new Table({ type: 'ordered_set' });
  for (let i = 0; i < N; i++) {
    const k = `key:${i}`;
    t.insert([k, i]);
  }
  return t;
});
mem.push({ name: 'Map<string, [k, v]> (baseline)', bytesPerEntry: mapBytes, ratioVsMap: 1 });
mem.push({ name: 'Table set', bytesPerEntry: tableBytes, ratioVsMap: tableBytes / mapBytes });
mem.push({
  name: 'Table set, every key read once',
  bytesPerEntry: tableReadBytes,
  ratioVsMap: tableReadBytes / mapBytes,
});
mem.push({
  name: 'Table set with records (after first())',
  bytesPerEntry: recordBytes,
  ratioVsMap: recordBytes / mapBytes,
});
mem.push({
  name: 'Table set, maxEntries (LRU on)',
  bytesPerEntry: cappedBytes,
  ratioVsMap: cappedBytes / mapBytes,
});
mem.push({ name: 'Table ordered_set', bytesPerEntry: orderedBytes, ratioVsMap: orderedBytes / mapBytes });
mem.push({ name: 'lru-cache 11', bytesPerEntry: lruBytes, ratioVsMap: lruBytes / mapBytes });

// ---------------------------------------------------------------------------
// Report

const lines: string[] = [];
lines.push(`### @supercache/storage — N=${N.toLocaleString('en-US')}, median of ${ROUNDS} rounds`);
lines.push('');
lines.push(`${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cpus, node ${process.version}`);
lines.push('');
lines.push('| benchmark | ops/sec | baseline | baseline ops/sec | ratio | target |');
lines.push('|---|---:|---|---:|---:|---|');
for (const r of rows) {
  const target = r.target === undefined ? '' : `${r.target} ${r.pass ? 'ok' : 'MISSED'}`;
  lines.push(
    `| ${r.name} | ${fmt(r.opsPerSec)} | ${r.baseline} | ${fmt(r.baselineOpsPerSec)} | ${r.ratio.toFixed(2)}x | ${target} |`,
  );
}
lines.push('');
lines.push('| memory | bytes/entry | vs Map of arrays |');
lines.push('|---|---:|---:|');
for (const m of mem)
  lines.push(`| ${m.name} | ${m.bytesPerEntry.toFixed(1)} | ${m.ratioVsMap.toFixed(2)}x |`);
if (gc === undefined) lines.push('', '(memory not measured: run node with --expose-gc)');
process.stdout.write(`${lines.join('\n')}\n`);

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, 'storage.json'),
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cpus: os.cpus().length,
      n: N,
      rounds: ROUNDS,
      throughput: rows,
      memory: mem,
      sink: sink % 7,
    },
    null,
    2,
  )}\n`,
);
