/**
 * Cost of versioning a write. Run from the repo root: `pnpm bench hlc`.
 * `HybridLogicalClock.now()` (one per write on the owner), `update()` (one
 * per received write) and `compareVersions` (one per merge), against
 * `Date.now()`. Median of 7 samples; writes bench/results/replication.json.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { compareVersions, HybridLogicalClock } from '../src/index.js';

const N = 1_000_000;

function median(fn: () => number): number {
  fn();
  const rates: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const ops = fn();
    rates.push((ops * 1000) / (performance.now() - t0));
  }
  rates.sort((a, b) => a - b);
  return rates[3] as number;
}

const hlc = new HybridLogicalClock({ nodeId: 'node-a' });
const other = new HybridLogicalClock({ nodeId: 'node-b' });
let sink = 0;
const stamps = Array.from({ length: 1024 }, () => other.now());
const rows = [
  {
    name: 'Date.now()',
    opsPerSec: median(() => {
      for (let i = 0; i < N; i++) sink += Date.now() & 1;
      return N;
    }),
  },
  {
    name: 'hlc.now()',
    opsPerSec: median(() => {
      for (let i = 0; i < N; i++) sink += hlc.now().length;
      return N;
    }),
  },
  {
    name: 'hlc.update(remote)',
    opsPerSec: median(() => {
      for (let i = 0; i < N; i++) hlc.update(stamps[i & 1023] as string);
      return N;
    }),
  },
  {
    name: 'compareVersions(a, b)',
    opsPerSec: median(() => {
      for (let i = 0; i < N; i++)
        sink += compareVersions(stamps[i & 1023] as string, stamps[(i + 1) & 1023] as string);
      return N;
    }),
  },
];
console.log(`replication bench — Node ${process.version}\n`);
console.log('| case | ops/s |');
console.log('|---|---:|');
for (const r of rows) console.log(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en')} |`);
console.log(`\n(sink ${sink !== 0})`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/replication.json',
  `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`,
);
