/**
 * Peer calls per second over HTTP on loopback: 1,000 calls in flight
 * (batched), the same concurrency with batching off (one HTTP request per
 * call), and one call at a time.
 *
 * Run: `pnpm exec tsx --conditions=@supercache/source packages/cluster/bench/transport.bench.ts`
 * Prints a markdown table and writes `bench/results/transport.json` at the
 * repository root. Takes about 15 s.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpTransport, type HttpTransportOptions } from '../src/index.js';

const SECRET = 'bench-secret';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3500);
const WARMUP_MS = 800;
const IN_FLIGHT = 1000;

interface Result {
  scenario: string;
  inFlight: number;
  calls: number;
  seconds: number;
  callsPerSec: number;
  httpRequests: number;
  callsPerRequest: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function pair(client: Partial<HttpTransportOptions>): Promise<{ a: HttpTransport; b: HttpTransport }> {
  const b = new HttpTransport({ nodeId: 'b', secret: SECRET, listen: { host: '127.0.0.1', port: 0 } });
  // A typical small read: key in, tuple out.
  b.handle('get', (body) => ['user', body, { name: 'Ada', visits: 42, tags: ['a', 'b'] }]);
  await b.start();
  const a = new HttpTransport({ nodeId: 'a', secret: SECRET, peers: { b: b.address! }, ...client });
  await a.start();
  return { a, b };
}

async function run(
  scenario: string,
  client: Partial<HttpTransportOptions>,
  inFlight: number,
  durationMs: number,
): Promise<Result> {
  const { a, b } = await pair(client);
  try {
    const latencies: number[] = [];
    const worker = async (until: number, record: boolean): Promise<void> => {
      let i = 0;
      while (performance.now() < until) {
        const t0 = performance.now();
        await a.call('b', 'get', i++);
        if (record) latencies.push(performance.now() - t0);
      }
    };
    const phase = async (ms: number, record: boolean): Promise<void> => {
      const until = performance.now() + ms;
      await Promise.all(Array.from({ length: inFlight }, () => worker(until, record)));
    };
    await phase(WARMUP_MS, false);
    const before = a.stats();
    const started = performance.now();
    await phase(durationMs, true);
    const seconds = (performance.now() - started) / 1000;
    const after = a.stats();
    const sorted = Float64Array.from(latencies).sort();
    const calls = after.calls - before.calls;
    const httpRequests = after.requests - before.requests;
    return {
      scenario,
      inFlight,
      calls,
      seconds: Number(seconds.toFixed(2)),
      callsPerSec: Math.round(calls / seconds),
      httpRequests,
      callsPerRequest: Number((calls / Math.max(1, httpRequests)).toFixed(1)),
      meanMs: Number((latencies.reduce((x, y) => x + y, 0) / Math.max(1, latencies.length)).toFixed(3)),
      p50Ms: Number(percentile(sorted, 50).toFixed(3)),
      p99Ms: Number(percentile(sorted, 99).toFixed(3)),
    };
  } finally {
    await a.stop();
    await b.stop();
  }
}

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const results: Result[] = [];
results.push(await run(`${IN_FLIGHT} in flight, batched`, {}, IN_FLIGHT, DURATION_MS));
results.push(await run(`${IN_FLIGHT} in flight, no batching`, { maxBatchCalls: 1 }, IN_FLIGHT, DURATION_MS));
results.push(await run('one call at a time', {}, 1, DURATION_MS));

const base = results[2]!.callsPerSec;
const lines = [
  `## Peer transport over HTTP (loopback), Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`,
  '',
  '| scenario | calls/s | × one-at-a-time | calls per HTTP request | mean ms | p50 ms | p99 ms |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...results.map(
    (r) =>
      `| ${r.scenario} | ${r.callsPerSec.toLocaleString('en-US')} | ${(r.callsPerSec / base).toFixed(1)} | ${r.callsPerRequest} | ${r.meanMs} | ${r.p50Ms} | ${r.p99Ms} |`,
  ),
];
console.log(lines.join('\n'));

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const out = join(root, 'bench', 'results', 'transport.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      benchmark: 'transport',
      date: new Date().toISOString(),
      node: process.version,
      platform: `${platform()} ${release()}`,
      cpu: cpus()[0]?.model,
      cpus: cpus().length,
      commit: commit(),
      durationMs: DURATION_MS,
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
