/**
 * What routing costs over a bare storage Table. Run from the repo root:
 *
 *   pnpm bench router
 *
 * 100,000 string keys over 8 shards: raw `Map.get`, `Table.lookup` on one
 * table, `ShardSet.runShard('lookup')` (command dispatch + partition hash),
 * and `await TableRouter.lookup` (the asynchronous API over LocalBackend).
 * Also a fan-out `select` over the 8 shards against the same `select` on a
 * single table holding everything. Median of 7 samples; writes
 * bench/results/router.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { partitionOf } from '@supercache/partition';
import { _, $, Table } from '@supercache/storage';
import { LocalBackend, ShardSet, TableRouter } from '../src/index.js';

const N = 100_000;
const SHARDS = 8;
const SAMPLES = 7;

async function median(fn: () => Promise<number> | number): Promise<number> {
  await fn();
  const rates: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = performance.now();
    const ops = await fn();
    rates.push((ops * 1000) / (performance.now() - t0));
  }
  rates.sort((a, b) => a - b);
  return rates[SAMPLES >> 1] as number;
}

const keys = Array.from({ length: N }, (_v, i) => `key:${i}`);
const map = new Map<string, unknown[]>();
const table = new Table({ type: 'set' });
const shards = new ShardSet({ type: 'set', shards: SHARDS, sweepIntervalMs: 0 });
const shardOf = (pd: unknown) => partitionOf(pd as string, SHARDS);
const router = new TableRouter(new LocalBackend({ shards, shardOf }));
for (const k of keys) {
  map.set(k, [k, 1]);
  table.insert([k, 1]);
}
await router.insertMany(keys.map((k) => [k, 1]));

let sink = 0;
let sinkSel = 0;
// Fan-out first: later loops change what the JIT has specialised.
const spec = [[[$(1), _], [['<', $(1), 'key:5']], [$(1)]]] as const;
const selectOne = await median(() => {
  sinkSel += table.select(spec).length;
  return N;
});
const selectFan = await median(async () => {
  sinkSel += (await router.select(spec)).length;
  return N;
});
const rows: Array<{ name: string; opsPerSec: number; vsMap: number }> = [];
const mapRate = await median(() => {
  for (const k of keys) sink += map.get(k)?.length ?? 0;
  return N;
});
const add = (name: string, r: number) => rows.push({ name, opsPerSec: r, vsMap: r / mapRate });
add('Map.get', mapRate);
add(
  'Table.lookup (one table)',
  await median(() => {
    for (const k of keys) sink += table.lookup(k).length;
    return N;
  }),
);
add(
  'ShardSet.runShard(lookup) + hash',
  await median(() => {
    for (const k of keys) sink += (shards.runShard(shardOf(k), 'lookup', [k]) as unknown[]).length;
    return N;
  }),
);
add(
  'await TableRouter.lookup',
  await median(async () => {
    for (const k of keys) sink += (await router.lookup(k)).length;
    return N;
  }),
);
rows.push({ name: 'select, one table (objects scanned/s)', opsPerSec: selectOne, vsMap: Number.NaN });
rows.push({
  name: `select, ${SHARDS} shards merged (objects scanned/s)`,
  opsPerSec: selectFan,
  vsMap: Number.NaN,
});

console.log(
  `router bench — ${N} keys, ${SHARDS} shards, Node ${process.version}, ${cpus()[0]?.model ?? ''}\n`,
);
console.log('| case | ops/s | vs Map.get |');
console.log('|---|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en')} | ${Number.isNaN(r.vsMap) ? '—' : `${r.vsMap.toFixed(2)}×`} |`,
  );
}
console.log(
  `\nfan-out select / single-table select: ${(selectFan / selectOne).toFixed(2)}× (sink ${sink + sinkSel > 0})`,
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/router.json',
  `${JSON.stringify({ node: process.version, keys: N, shards: SHARDS, rows, fanoutRatio: selectFan / selectOne }, null, 2)}\n`,
);
shards.close();
table.close();
