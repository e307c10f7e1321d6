/**
 * What replication costs and buys, on three cluster nodes in this process
 * talking HTTP on 127.0.0.1 (one event loop for all three: absolute figures
 * are lower than three processes on three machines; the ratios are the
 * point):
 *
 * - write throughput and latency for RF 1 (the baseline), RF 2 async / sync
 *   / strong and RF 3 sync, 128 writes in flight through one node;
 * - read throughput on RF 3 for `readMode` `local`, `primary` and `quorum`;
 * - failover: `kill` of a node (its transport closed, no leave) to the first
 *   acknowledged write on a partition it led, over 10 kills (RF 2 sync);
 * - refill: entries per second streamed to the new copies after a kill.
 *
 * Run: `pnpm bench replicas`. Prints markdown tables and writes
 * `bench/results/replicas.json` (untracked). Takes about a minute.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Tuple } from '@supercache/storage';
import { ClusterNode, HttpTransport } from '../src/index.js';
import type { ReplicationMode } from '../src/replicator.js';

const SECRET = 'bench-secret';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const IN_FLIGHT = 128;
const KEYS = 20_000;
const PARTITIONS = 64;
const FAILURE_TIMEOUT_MS = 1000;

interface Node {
  readonly id: string;
  readonly node: ClusterNode;
  readonly transport: HttpTransport;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function startNode(
  id: string,
  peers: readonly Node[],
  rf: number,
  mode: ReplicationMode,
): Promise<Node> {
  const transport = new HttpTransport({ nodeId: id, secret: SECRET, listen: { host: '127.0.0.1', port: 0 } });
  await transport.start();
  const node = new ClusterNode({
    nodeId: id,
    transport,
    address: transport.address as string,
    peers: peers.map((p) => ({ id: p.id, address: p.transport.address as string })),
    heartbeatMs: 100,
    failureTimeoutMs: FAILURE_TIMEOUT_MS,
    config: { replicationFactor: rf, replicationMode: mode, numPartition: PARTITIONS },
  });
  node.table('t', { type: 'set', numPartitions: PARTITIONS });
  await node.start();
  return { id, node, transport };
}

async function cluster(rf: number, mode: ReplicationMode, ids = ['a', 'b', 'c']): Promise<Node[]> {
  const out: Node[] = [];
  for (const id of ids) out.push(await startNode(id, out, rf, mode));
  return out;
}

async function stopAll(nodes: readonly Node[]): Promise<void> {
  for (const n of nodes) {
    await n.node.stop().catch(() => undefined);
    await n.transport.stop().catch(() => undefined);
  }
}

/** A node dies without leaving: its port closes, its timers stop. */
async function kill(n: Node): Promise<void> {
  await n.transport.stop();
  await n.node.stop().catch(() => undefined);
}

function router(n: Node) {
  const t = n.node.getTable('t');
  if (t === undefined) throw new Error('no table');
  return t.router;
}

interface Throughput {
  scenario: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ops: number;
}

async function drive(
  scenario: string,
  op: (i: number) => Promise<unknown>,
  durationMs = DURATION_MS,
): Promise<Throughput> {
  const lat: number[] = [];
  let i = 0;
  const start = performance.now();
  const until = start + durationMs;
  const worker = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await op(i++);
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return {
    scenario,
    opsPerSec: Math.round(lat.length / secs),
    p50Ms: round(percentile(lat, 50)),
    p99Ms: round(percentile(lat, 99)),
    ops: lat.length,
  };
}

async function writes(rf: number, mode: ReplicationMode): Promise<Throughput> {
  const nodes = await cluster(rf, mode);
  try {
    const r = router(nodes[0] as Node);
    await drive('warm-up', (i) => r.insert([`k${i % KEYS}`, i]), 500);
    return await drive(`writes, RF ${rf} ${mode}`, (i) => r.insert([`k${i % KEYS}`, i]));
  } finally {
    await stopAll(nodes);
  }
}

async function reads(): Promise<Throughput[]> {
  const nodes = await cluster(3, 'sync');
  try {
    const r = router(nodes[0] as Node);
    for (let i = 0; i < KEYS; i += 1000) {
      await r.insertMany(Array.from({ length: 1000 }, (_x, j) => [`k${i + j}`, i + j] as Tuple));
    }
    const out: Throughput[] = [];
    for (const readMode of ['local', 'primary', 'quorum'] as const) {
      await drive('warm-up', (i) => r.lookup(`k${i % KEYS}`, { readMode }), 300);
      out.push(
        await drive(`reads, RF 3 sync, readMode ${readMode}`, (i) => r.lookup(`k${i % KEYS}`, { readMode })),
      );
    }
    return out;
  } finally {
    await stopAll(nodes);
  }
}

interface Failover {
  kills: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samplesMs: number[];
}

/** Kill to first acknowledged write on a partition the victim led, 10 times (RF 2 sync). */
async function failover(): Promise<Failover> {
  const nodes = await cluster(2, 'sync');
  const samples: number[] = [];
  try {
    for (let k = 0; k < 10; k++) {
      const victim = nodes[nodes.length - 1] as Node;
      const t = (nodes[0] as Node).node.getTable('t');
      if (t === undefined) throw new Error('no table');
      // A key whose partition the victim leads.
      let key = '';
      for (let i = 0; ; i++) {
        if (t.replicasOf(t.shardOf(`f${k}-${i}`))[0] === victim.id) {
          key = `f${k}-${i}`;
          break;
        }
      }
      const r = router(nodes[0] as Node);
      await r.insert([key, 0]);
      const t0 = performance.now();
      await kill(victim);
      nodes.pop();
      // The router retries transparently (within its attempts): the first ack is the failover.
      for (;;) {
        try {
          await r.insert([key, 1]);
          break;
        } catch {
          // retry budget exhausted: try again
        }
      }
      samples.push(performance.now() - t0);
      nodes.push(await startNode(`n${k}`, nodes, 2, 'sync'));
    }
  } finally {
    await stopAll(nodes);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    kills: samples.length,
    p50Ms: round(percentile(sorted, 50), 0),
    p99Ms: round(percentile(sorted, 99), 0),
    maxMs: round(sorted[sorted.length - 1] ?? 0, 0),
    samplesMs: samples.map((x) => round(x, 0)),
  };
}

interface Refill {
  entries: number;
  seconds: number;
  entriesPerSec: number;
}

/** After a kill, the time from the survivors' new view until every copy is in sync again (RF 2 sync, 3 → 2). */
async function refill(objects = 200_000): Promise<Refill> {
  const nodes = await cluster(2, 'sync');
  try {
    const r = router(nodes[0] as Node);
    for (let i = 0; i < objects; i += 2000) {
      await r.insertMany(Array.from({ length: 2000 }, (_x, j) => [`k${i + j}`, i + j] as Tuple));
    }
    const survivors = nodes.slice(0, 2);
    const snap = () =>
      survivors.reduce(
        (n, s) => n + s.node.stats().replicaSnapshotEntries + s.node.stats().handoffEntriesSent,
        0,
      );
    const before = snap();
    await kill(nodes[2] as Node);
    while (survivors.some((s) => s.node.view.members.includes('c')))
      await new Promise((x) => setTimeout(x, 5));
    const t0 = performance.now();
    const synced = () =>
      survivors.every((s) => {
        const h = s.node.health().replication.t;
        return h !== undefined && h.outOfSync === 0 && h.lag.every((l) => l.inSync && l.records === 0);
      });
    while (!synced()) await new Promise((x) => setTimeout(x, 2));
    const seconds = (performance.now() - t0) / 1000;
    const entries = snap() - before;
    return { entries, seconds: round(seconds, 3), entriesPerSec: Math.round(entries / seconds) };
  } finally {
    await stopAll(nodes);
  }
}

const writeResults: Throughput[] = [];
for (const [rf, mode] of [
  [1, 'async'],
  [2, 'async'],
  [2, 'sync'],
  [2, 'strong'],
  [3, 'sync'],
] as const) {
  writeResults.push(await writes(rf, mode));
}
const readResults = await reads();
const fo = await failover();
const rf = await refill();

const base = writeResults[0] as Throughput;
console.log('| scenario | ops/s | vs RF 1 | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|');
for (const x of [...writeResults, ...readResults]) {
  console.log(
    `| ${x.scenario} | ${x.opsPerSec} | ${round(x.opsPerSec / base.opsPerSec)}× | ${x.p50Ms} | ${x.p99Ms} |`,
  );
}
console.log(
  `\nfailover (kill → first acknowledged write, ${fo.kills} kills, failure timeout ${FAILURE_TIMEOUT_MS} ms):`,
);
console.log(`p50 ${fo.p50Ms} ms, p99 ${fo.p99Ms} ms, max ${fo.maxMs} ms`);
console.log(`refill: ${rf.entries} entries in ${rf.seconds} s = ${rf.entriesPerSec} entries/s`);

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/replicas.json',
  `${JSON.stringify(
    {
      when: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      inFlight: IN_FLIGHT,
      durationMs: DURATION_MS,
      writes: writeResults,
      reads: readResults,
      failover: fo,
      refill: rf,
    },
    null,
    2,
  )}\n`,
);
process.exit(0);
