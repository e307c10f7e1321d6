/**
 * The embedded comparison: what a user would deploy. Three application
 * processes on this machine run the same 90/10 workload on a shared data set
 * of 100,000 keys, 128 operations in flight each, for a fixed time:
 *
 * - each embeds a SuperCache node (`cluster: 'distributed'`, the three form
 *   one cluster over HTTP on 127.0.0.1), with RF 1 (`readMode: 'primary'`:
 *   two thirds of reads go to another process) and RF 3 sync with
 *   `readMode: 'local'` (every node holds every partition: reads are local);
 * - each uses ioredis (auto-pipelining) against one `redis-server`.
 *
 * Aggregate throughput is the sum over the three processes; latency
 * percentiles are over every recorded operation of the three.
 *
 * Run: `pnpm bench embedded` (BENCH_DURATION_MS to change the 10 s;
 * BENCH_CPU_PROF=<dir> for a CPU profile of each application process;
 * BENCH_REQUEST_WINDOW=<n> for the peer transport's `requestWindow`).
 * Writes `bench/results/embedded.json` (untracked).
 */

import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartMessage, WorkerResult } from './embedded-worker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const PROCS = 3;
const KEYS = 100_000;
const IN_FLIGHT = 128;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = 1_000;
const PARTITIONS = 32;
/** BENCH_CPU_PROF=<dir>: each application process writes a CPU profile there. */
const PROFILE = process.env.BENCH_CPU_PROF;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Scenario {
  readonly name: string;
  readonly system: 'supercache' | 'redis';
  readonly replicationFactor: number;
  readonly readMode: 'local' | 'primary';
  readonly replicationMode: 'async' | 'sync';
}

interface Outcome {
  readonly scenario: string;
  readonly opsPerSec: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly vsRedis?: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Sends `msg` and resolves with the child's next message of kind `want`. */
function ask<T>(child: ChildProcess, msg: unknown, want: string): Promise<T> {
  return new Promise((res, rej) => {
    const on = (m: { kind: string; message?: string }) => {
      if (m.kind === want) {
        child.off('message', on);
        res(m as T);
      } else if (m.kind === 'error') {
        child.off('message', on);
        rej(new Error(m.message));
      }
    };
    child.on('message', on);
    child.send(msg as object);
  });
}

function startWorker(): ChildProcess {
  const child = fork(join(HERE, 'embedded-worker.ts'), [], {
    cwd: ROOT,
    execArgv: [
      '--conditions=@supercache/source',
      '--import',
      'tsx',
      '--max-old-space-size=4096',
      ...(PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`]),
    ],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return child;
}

function redisReady(): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  if (process.getuid?.() !== 0) return false;
  const r = spawnSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    { stdio: 'inherit' },
  );
  return r.status === 0 && spawnSync('redis-server', ['--version']).status === 0;
}

async function runScenario(s: Scenario, redisPort: number): Promise<Outcome> {
  const workers: ChildProcess[] = [];
  try {
    const peers: Array<{ id: string; address: string }> = [];
    for (let i = 0; i < PROCS; i++) {
      const w = startWorker();
      workers.push(w);
      const msg: StartMessage = {
        kind: 'start',
        system: s.system,
        id: `app${i}`,
        index: i,
        procs: PROCS,
        keys: KEYS,
        inFlight: IN_FLIGHT,
        durationMs: DURATION_MS,
        warmupMs: WARMUP_MS,
        readRatio: 0.9,
        secret: 'bench-embedded-secret',
        peers: [...peers],
        replicationFactor: s.replicationFactor,
        readMode: s.readMode,
        replicationMode: s.replicationMode,
        redisPort,
        partitions: PARTITIONS,
      };
      // One at a time: each node joins the cluster the previous ones formed.
      const r = await ask<{ address: string }>(w, msg, 'ready');
      peers.push({ id: msg.id, address: r.address });
    }
    await Promise.all(workers.map((w) => ask(w, { kind: 'load' }, 'loaded')));
    const results = await Promise.all(workers.map((w) => ask<WorkerResult>(w, { kind: 'run' }, 'result')));
    let ops = 0;
    let errors = 0;
    let count = 0;
    for (const r of results) count += r.latencies.length;
    const all = new Float64Array(count);
    let at = 0;
    for (const r of results) {
      ops += r.ops / r.seconds;
      errors += r.errors;
      all.set(r.latencies, at);
      at += r.latencies.length;
    }
    all.sort();
    return {
      scenario: s.name,
      opsPerSec: Math.round(ops),
      errors,
      p50Ms: Number(percentile(all, 50).toFixed(3)),
      p99Ms: Number(percentile(all, 99).toFixed(3)),
    };
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        const exited = new Promise((r) => w.once('exit', r));
        w.send({ kind: 'exit' });
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        w.kill('SIGKILL');
        children.delete(w);
      }),
    );
  }
}

async function main(): Promise<void> {
  const scenarios: Scenario[] = [
    {
      name: 'SuperCache embedded, RF 1, readMode primary',
      system: 'supercache',
      replicationFactor: 1,
      readMode: 'primary',
      replicationMode: 'sync',
    },
    {
      name: 'SuperCache embedded, RF 3 sync, readMode local',
      system: 'supercache',
      replicationFactor: 3,
      readMode: 'local',
      replicationMode: 'sync',
    },
    {
      name: 'SuperCache embedded, RF 3 async, readMode local',
      system: 'supercache',
      replicationFactor: 3,
      readMode: 'local',
      replicationMode: 'async',
    },
  ];
  const out: Outcome[] = [];
  for (const s of scenarios) out.push(await runScenario(s, 0));
  let redis: Outcome | string = 'skipped: redis-server is not installed and cannot be installed here';
  if (redisReady()) {
    const port = await freePort();
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    children.add(server);
    try {
      await new Promise((r) => setTimeout(r, 300));
      redis = await runScenario(
        {
          name: 'Redis (3 processes, ioredis auto-pipelining)',
          system: 'redis',
          replicationFactor: 1,
          readMode: 'primary',
          replicationMode: 'sync',
        },
        port,
      );
    } finally {
      server.kill('SIGKILL');
      children.delete(server);
    }
  }
  const base = typeof redis === 'string' ? undefined : redis.opsPerSec;
  const rows = [...out, ...(typeof redis === 'string' ? [] : [redis])].map((o) => ({
    ...o,
    ...(base === undefined ? {} : { vsRedis: Number((o.opsPerSec / base).toFixed(2)) }),
  }));
  console.log(
    `${PROCS} application processes, ${KEYS.toLocaleString('en')} keys, 90 % reads, ${IN_FLIGHT} in flight each, ` +
      `${DURATION_MS / 1000} s; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}\n`,
  );
  console.log('| scenario | ops/s (sum) | vs Redis | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows)
    console.log(
      `| ${r.scenario} | ${r.opsPerSec} | ${r.vsRedis === undefined ? '—' : `${r.vsRedis}×`} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} |`,
    );
  if (typeof redis === 'string') console.log(`\nRedis: ${redis}`);
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'embedded.json'),
    `${JSON.stringify({ benchmark: 'embedded', date: new Date().toISOString(), node: process.version, rows, redis: typeof redis === 'string' ? redis : undefined }, null, 2)}\n`,
  );
  process.exit(0);
}

await main();
