/**
 * Cluster throughput and latency against Redis, and handoff speed.
 *
 * 1. Three `supercache-node` processes on 127.0.0.1 hold 100,000 keys. A
 *    driver keeps 256 operations in flight for a fixed time, 90 % reads and
 *    10 % writes on random keys, through
 *    - the peer protocol (`PeerClient`: owner-routed `sc.exec` calls,
 *      batched MessagePack over undici), and
 *    - the JSON client API (one HTTP request per operation, for reference).
 * 2. Redis (`redis-server --save '' --appendonly no`) with ioredis and
 *    `enableAutoPipelining`, same keys, mix, concurrency and duration.
 *    Installed with apt-get when missing and running as root; skipped
 *    (and said so) otherwise.
 * 3. Handoff: 1,000,000 entries in a 2-node cluster, a 3rd node joins;
 *    entries handed off per second, from the leader's handoff counters, and
 *    the join's time end to end.
 *
 * Run: `pnpm bench cluster` (BENCH_CPU_PROF=<dir> for node CPU profiles; BENCH_DURATION_MS, BENCH_HANDOFF_ENTRIES to
 * change the defaults; BENCH_ONLY=mix or BENCH_ONLY=handoff for one part). Prints a markdown table and writes
 * `bench/results/cluster.json` at the repository root. Takes about a minute.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, platform, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientToken } from '@supercache/cluster';
import type { Tuple } from '@supercache/storage';
import { Redis } from 'ioredis';
import { JsonClient } from '../src/json-client.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';
import { runMix } from './mix-loop.js';
import { PeerClient } from './peer-client.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = 1_000;
const IN_FLIGHT = 256;
const KEYS = 100_000;
const READ_RATIO = 0.9;
const PARTITIONS = 32;
const HANDOFF_ENTRIES = Number(process.env.BENCH_HANDOFF_ENTRIES ?? 1_000_000);
const SECRET = 'bench-cluster-secret';
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'mix' && ONLY !== 'handoff') {
  throw new Error(`BENCH_ONLY must be 'mix' or 'handoff', got ${JSON.stringify(ONLY)}`);
}

interface Driver {
  get(i: number): Promise<unknown>;
  put(i: number, v: number): Promise<unknown>;
}

interface MixResult {
  target: string;
  inFlight: number;
  seconds: number;
  ops: number;
  opsPerSec: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

const children = new Set<ChildProcess>();
const nodes: NodeProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const n of nodes) n.child.kill('SIGKILL');
});

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function value(i: number, v: number): Tuple {
  return [`k${i}`, v, 'payload-0123456789'];
}

/** Runs the 90/10 mix with `inFlight` operations outstanding for `durationMs` (after a warm-up). */
async function drive(
  target: string,
  driver: Driver,
  inFlight: number,
  durationMs: number,
): Promise<MixResult> {
  const {
    ops: n,
    errors,
    seconds,
    latencies: sorted,
  } = await runMix(driver, {
    keys: KEYS,
    readRatio: READ_RATIO,
    inFlight,
    warmupMs: WARMUP_MS,
    durationMs,
    seed: 12345,
  });
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    target,
    inFlight,
    seconds: round(seconds, 2),
    ops: n,
    opsPerSec: Math.round(n / seconds),
    errors,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(n === 0 ? 0 : sum / n),
  };
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (at most 10 s). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startNode(id: string, peers: Record<string, string>): Promise<NodeProcess> {
  const command = sourceCliCommand(ROOT);
  // BENCH_CPU_PROF=<dir>: each node writes a V8 CPU profile there when it exits.
  const profDir = process.env.BENCH_CPU_PROF;
  const node = await spawnNode(
    profDir === undefined
      ? command
      : { ...command, args: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...command.args] },
    {
      id,
      secret: SECRET,
      peers,
      partitions: PARTITIONS,
      logLevel: 'warn',
    },
  );
  nodes.push(node);
  await node.ready;
  return node;
}

async function stopNodes(): Promise<void> {
  // A profiled node must exit normally to write its profile.
  const profiling = process.env.BENCH_CPU_PROF !== undefined;
  await Promise.allSettled(nodes.splice(0).map((n) => (profiling ? n.stop() : n.kill())));
}

async function load(client: JsonClient, count: number, batch = 1000, inFlight = 4): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + batch);
      const tuples: Tuple[] = [];
      for (let i = start; i < next; i++) tuples.push(value(i, 0));
      await client.putBatch(tuples);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return performance.now() - t0;
}

async function clusterMix(): Promise<MixResult[]> {
  const n1 = await startNode('n1', {});
  const n2 = await startNode('n2', { n1: n1.url });
  const n3 = await startNode('n3', { n1: n1.url });
  const loader = new JsonClient(n1.url);
  const loadMs = await load(loader, KEYS);
  await loader.close();
  console.error(`cluster: 3 nodes, ${KEYS} keys loaded in ${Math.round(loadMs)} ms`);
  const results: MixResult[] = [];

  const peer = new PeerClient({
    token: clientToken(SECRET, 'bench'),
    seed: { id: 'n1', url: n1.url },
    connections: 8,
  });
  await peer.start();
  results.push(
    await drive(
      'SuperCache 3 nodes, peer protocol (batched msgpack)',
      {
        get: (i) => peer.get(`k${i}`),
        put: (i, v) => peer.put(value(i, v)),
      },
      IN_FLIGHT,
      DURATION_MS,
    ),
  );
  const transport = peer.stats();
  console.error(`peer client: ${JSON.stringify(transport)}, redirects ${peer.redirects}`);
  await peer.stop();

  const json = [n1, n2, n3].map((n) => new JsonClient(n.url, { connections: 32 }));
  let rr = 0;
  results.push(
    await drive(
      'SuperCache 3 nodes, JSON client API (1 request per op)',
      {
        get: (i) => (json[rr++ % 3] as JsonClient).get(`k${i}`),
        put: (i, v) => (json[rr++ % 3] as JsonClient).put(value(i, v)),
      },
      IN_FLIGHT,
      DURATION_MS,
    ),
  );
  await Promise.all(json.map((c) => c.close()));
  await stopNodes();
  return results;
}

function redisAvailable(): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  if (process.getuid?.() !== 0) return false;
  console.error('redis-server is missing; installing it with apt-get (running as root)');
  const r = spawnSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    {
      stdio: 'inherit',
      timeout: 300_000,
    },
  );
  return r.status === 0 && spawnSync('redis-server', ['--version']).status === 0;
}

async function redisMix(): Promise<MixResult | string> {
  if (!redisAvailable())
    return 'skipped: redis-server is not installed and cannot be installed here (not root)';
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  children.add(server);
  await waitForPort(port);
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    enableAutoPipelining: true,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  try {
    await redis.connect();
    for (let i = 0; i < KEYS; i += 1000) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(KEYS, i + 1000); j++) p.set(`k${j}`, `0|payload-0123456789`);
      await p.exec();
    }
    return await drive(
      'Redis 7 (ioredis, auto-pipelining)',
      {
        get: (i) => redis.get(`k${i}`),
        put: (i, v) => redis.set(`k${i}`, `${v}|payload-0123456789`),
      },
      IN_FLIGHT,
      DURATION_MS,
    );
  } finally {
    redis.disconnect();
    server.kill('SIGKILL');
    children.delete(server);
  }
}

interface HandoffResult {
  entries: number;
  loadMs: number;
  joinMs: number;
  handoffMs: number;
  handedOff: number;
  entriesPerSec: number;
}

async function handoff(): Promise<HandoffResult> {
  const h1 = await startNode('h1', {});
  const h2 = await startNode('h2', { h1: h1.url });
  const c1 = new JsonClient(h1.url);
  const loadMs = await load(c1, HANDOFF_ENTRIES);
  const since = Date.now();
  const t0 = performance.now();
  const h3 = await startNode('h3', { h1: h1.url, h2: h2.url });
  const joinMs = performance.now() - t0;
  // h1 has the smallest id: it leads and records every handoff it drove. The
  // join moves the tuple table (the big one), then the empty kv and sys tables.
  const leader = await c1.stats();
  await c1.close();
  await stopNodes();
  void h3;
  const moved = leader.handoffs.filter((r) => r.at >= since && r.phase === 'committed');
  const handedOff = moved.reduce((n, r) => n + r.entries, 0);
  const handoffMs = moved.reduce((n, r) => n + r.durationMs, 0);
  return {
    entries: HANDOFF_ENTRIES,
    loadMs: Math.round(loadMs),
    joinMs: Math.round(joinMs),
    handoffMs: Math.round(handoffMs),
    handedOff,
    entriesPerSec: handoffMs > 0 ? Math.round((handedOff / handoffMs) * 1000) : 0,
  };
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const mixes = ONLY === 'handoff' ? [] : await clusterMix();
  const redis = ONLY === 'handoff' ? 'not run (BENCH_ONLY=handoff)' : await redisMix();
  const ho = ONLY === 'mix' ? undefined : await handoff();

  const rows = [...mixes, ...(typeof redis === 'string' ? [] : [redis])];
  let ratio: number | undefined;
  if (mixes.length > 0) {
    console.log(
      `Mix: ${READ_RATIO * 100} % reads / ${100 - READ_RATIO * 100} % writes, ${KEYS.toLocaleString('en-US')} keys, ${IN_FLIGHT} in flight, ${DURATION_MS / 1000} s\n`,
    );
    console.log('| target | ops/s | p50 ms | p99 ms | mean ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.target} | ${r.opsPerSec.toLocaleString('en-US')} | ${r.p50Ms} | ${r.p99Ms} | ${r.meanMs} | ${r.errors} |`,
      );
    }
    const peer = mixes[0] as MixResult;
    if (typeof redis === 'string') {
      console.log(`\nRedis: ${redis}`);
    } else {
      ratio = round(peer.opsPerSec / redis.opsPerSec, 3);
      console.log(`\nSuperCache (peer protocol) / Redis throughput: ${ratio}`);
    }
  }
  if (ho !== undefined) {
    console.log(
      `\nHandoff: ${ho.handedOff.toLocaleString('en-US')} of ${ho.entries.toLocaleString('en-US')} entries moved to a joining 3rd node in ${ho.handoffMs} ms ` +
        `(${ho.entriesPerSec.toLocaleString('en-US')} entries/s; join ${ho.joinMs} ms end to end)`,
    );
  }

  const out = join(ROOT, `bench/results/cluster${ONLY === undefined ? '' : `-${ONLY}`}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        benchmark: 'cluster',
        date: new Date().toISOString(),
        node: process.version,
        platform: `${platform()} ${release()}`,
        cpu: cpus()[0]?.model ?? 'unknown',
        cpus: cpus().length,
        commit: commit(),
        keys: KEYS,
        readRatio: READ_RATIO,
        inFlight: IN_FLIGHT,
        durationMs: DURATION_MS,
        partitions: PARTITIONS,
        results: rows,
        redis: typeof redis === 'string' ? redis : 'ran',
        superCacheToRedis: ratio,
        handoff: ho,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${out}`);
}

main().then(
  () => process.exit(0),
  async (e: unknown) => {
    console.error(e);
    for (const n of nodes) console.error(`[${n.id}] ${n.stderr.slice(-10).join('\n')}`);
    await stopNodes();
    process.exit(1);
  },
);
