/**
 * Micro-benchmarks of @supercache/partition. Run from the repo root:
 *
 *   pnpm exec tsx --conditions=@supercache/source packages/partition/bench/partition.bench.ts
 *
 * Prints a markdown table and writes bench/results/partition.json. Each case
 * is warmed up, then timed in 7 samples of ~200 ms; the median is reported.
 * Baselines run in the same process: the naive `hashUtf16(canonicalString(k))`
 * (what hashTerm computes, without the fast paths) and a `Map.get` of a
 * precomputed owner.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalString, type Term } from '@supercache/storage';
import {
  computeAssignment,
  createShardRouter,
  hashTerm,
  hashUtf16,
  nodeShards,
  owners,
  partitionOf,
} from '../src/index.js';

const SAMPLES = 7;
const SAMPLE_MS = 200;
const WARMUP_MS = 300;

interface Result {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
}

let sink = 0;

/** Times `batch()`, which performs `opsPerBatch` operations and returns a number to keep. */
function bench(name: string, opsPerBatch: number, batch: () => number): Result {
  const warmEnd = performance.now() + WARMUP_MS;
  while (performance.now() < warmEnd) sink ^= batch();
  const rates: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    let ops = 0;
    const start = performance.now();
    let now = start;
    while (now - start < SAMPLE_MS) {
      sink ^= batch();
      ops += opsPerBatch;
      now = performance.now();
    }
    rates.push((ops * 1000) / (now - start));
  }
  rates.sort((a, b) => a - b);
  const opsPerSec = rates[SAMPLES >> 1] as number;
  return { name, opsPerSec, nsPerOp: 1e9 / opsPerSec };
}

const N = 1024;
const stringKeys = Array.from({ length: N }, (_, i) => `user:${(i * 7919) % 100_000}`);
const compositeKeys: Term[] = Array.from({ length: N }, (_, i) => ['user', i, 'session']);
const intKeys = Array.from({ length: N }, (_, i) => i * 31);
const objectKeys: Term[] = Array.from({ length: N }, (_, i) => ({ tenant: 'acme', id: i }));
const nodes8 = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}:7400`);

const over = (keys: readonly Term[], f: (k: Term) => number) => (): number => {
  let x = 0;
  for (let i = 0; i < keys.length; i++) x ^= f(keys[i] as Term);
  return x;
};

const map = computeAssignment(1024, nodes8, 3);
const precomputed = new Map<number, readonly string[]>(map.owners.map((o, p) => [p, o]));
const router16 = createShardRouter({ shards: nodes8.flatMap((n) => nodeShards(n, 2)) });

const results: Result[] = [
  bench('hashTerm — string key', N, over(stringKeys, hashTerm)),
  bench(
    'baseline: hashUtf16(canonicalString(k)) — string key',
    N,
    over(stringKeys, (k) => hashUtf16(canonicalString(k))),
  ),
  bench('hashTerm — integer key', N, over(intKeys, hashTerm)),
  bench("hashTerm — composite key ['user', i, 'session']", N, over(compositeKeys, hashTerm)),
  bench(
    'baseline: hashUtf16(canonicalString(k)) — composite key',
    N,
    over(compositeKeys, (k) => hashUtf16(canonicalString(k))),
  ),
  bench('hashTerm — object key { tenant, id }', N, over(objectKeys, hashTerm)),
  bench(
    'partitionOf(string key, 1024)',
    N,
    over(stringKeys, (k) => partitionOf(k, 1024)),
  ),
  bench('owners(p, 8 nodes, rf 1)', N, () => {
    let x = 0;
    for (let p = 0; p < N; p++) x ^= (owners(p, nodes8, 1)[0] as string).length;
    return x;
  }),
  bench('owners(p, 8 nodes, rf 3)', N, () => {
    let x = 0;
    for (let p = 0; p < N; p++) x ^= owners(p, nodes8, 3).length;
    return x;
  }),
  bench('baseline: Map.get of a precomputed owner list', N, () => {
    let x = 0;
    for (let p = 0; p < N; p++) x ^= (precomputed.get(p) as readonly string[]).length;
    return x;
  }),
  bench(
    'ShardRouter.indexOf(string key), 16 shards',
    N,
    over(stringKeys, (k) => router16.indexOf(k)),
  ),
  bench(
    'computeAssignment(1024 partitions, 8 nodes, rf 3)',
    1,
    () => computeAssignment(1024, nodes8, 3).numPartitions,
  ),
];

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const lines = [
  '| case | ops/sec | ns/op |',
  '|---|---:|---:|',
  ...results.map((r) => `| ${r.name} | ${fmt(r.opsPerSec)} | ${r.nsPerOp.toFixed(1)} |`),
];
console.log(lines.join('\n'));

function commit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const out = join(outDir, 'partition.json');
writeFileSync(
  out,
  `${JSON.stringify(
    {
      package: '@supercache/partition',
      date: new Date().toISOString(),
      node: process.version,
      platform: `${platform()} ${release()}`,
      cpu: cpus()[0]?.model ?? 'unknown',
      commit: commit(),
      method: `median of ${SAMPLES} samples of ${SAMPLE_MS} ms after ${WARMUP_MS} ms warm-up`,
      results: results.map((r) => ({
        name: r.name,
        opsPerSec: Math.round(r.opsPerSec),
        nsPerOp: +r.nsPerOp.toFixed(2),
      })),
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out} (sink ${sink & 1})`);
