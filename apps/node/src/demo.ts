/**
 * The main demo (`pnpm start`): a 3-node cluster on 127.0.0.1, each node a
 * child process running `dist/cli.js`.
 *
 * 1. starts n1, n2, n3 (port 0; the bound port is read from each node's
 *    `listening` line);
 * 2. writes 10,000 keys through n1 (batches over the JSON client API) and
 *    reads every one back through n2;
 * 3. prints the partition spread (owned partitions and keys per node);
 * 4. while writers keep writing through n1 and n2, makes n3 leave (SIGTERM:
 *    a graceful leave hands its data off) and a new n4 join;
 * 5. checks that every acknowledged write — the 10,000 and the writers' —
 *    reads back with its last value, prints a summary, stops every child.
 *
 * Exits 0 when nothing was lost, 1 otherwise. Bounded: every wait has a
 * deadline and the whole run is cut at 60 s.
 */

import { randomBytes } from 'node:crypto';
import type { Tuple } from '@supercache/storage';
import { JsonClient } from './json-client.js';
import { builtCliCommand, type NodeProcess, spawnNode } from './node-process.js';

const KEYS = 10_000;
const BATCH = 500;
const PARTITIONS = 32;
const WRITERS = 8;
const WRITER_MAX_MS = 20_000;
const DEADLINE_MS = 60_000;

const secret = randomBytes(16).toString('hex');
const command = builtCliCommand();
const nodes = new Map<string, NodeProcess>();
const clients = new Map<string, JsonClient>();

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function ms(since: number): string {
  return `${Math.round(performance.now() - since)} ms`;
}

async function start(id: string, peers: Record<string, string>): Promise<NodeProcess> {
  const t0 = performance.now();
  const node = await spawnNode(command, { id, secret, peers, partitions: PARTITIONS, logLevel: 'warn' });
  nodes.set(id, node);
  clients.set(id, new JsonClient(node.url, { connections: 32 }));
  await node.ready;
  log(`  ${id} ready at ${node.url} (${ms(t0)})`);
  return node;
}

function client(id: string): JsonClient {
  const c = clients.get(id);
  if (c === undefined) throw new Error(`no client for ${id}`);
  return c;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function spread(ids: readonly string[]): Promise<void> {
  log('  node  partitions  keys');
  let total = 0;
  for (const id of ids) {
    const s = await client(id).stats();
    total += s.size;
    log(`  ${id.padEnd(4)}  ${String(s.ownedPartitions).padStart(10)}  ${String(s.size).padStart(5)}`);
  }
  log(`  total              ${String(total).padStart(5)}`);
}

/** What a key must read back as: its last acknowledged value, or one of the values in doubt. */
interface Expectation {
  acked: number | undefined;
  inDoubt: number[];
}

async function main(): Promise<number> {
  const t0 = performance.now();
  log(`SuperCache demo: 3 nodes on 127.0.0.1, ${PARTITIONS} partitions`);
  log('');
  log('Starting nodes');
  const n1 = await start('n1', {});
  await start('n2', { n1: n1.url });
  await start('n3', { n1: n1.url });

  const model = new Map<string, Expectation>();
  log('');
  log(`Writing ${KEYS.toLocaleString('en-US')} keys through n1`);
  const tWrite = performance.now();
  const batches: Tuple[][] = [];
  for (let i = 0; i < KEYS; i += BATCH) {
    const batch: Tuple[] = [];
    for (let j = i; j < Math.min(KEYS, i + BATCH); j++) batch.push([`key-${j}`, 0]);
    batches.push(batch);
  }
  await pool(batches, 4, (b) => client('n1').putBatch(b));
  for (let j = 0; j < KEYS; j++) model.set(`key-${j}`, { acked: 0, inDoubt: [] });
  log(`  done in ${ms(tWrite)}`);

  log(`Reading them through n2`);
  const tRead = performance.now();
  let readMisses = 0;
  const keys = [...model.keys()];
  await pool(keys, 64, async (k) => {
    const got = await client('n2').get(k);
    if (got.length !== 1 || got[0]?.[1] !== 0) readMisses++;
  });
  log(
    `  ${(keys.length - readMisses).toLocaleString('en-US')} of ${keys.length.toLocaleString('en-US')} found in ${ms(tRead)}`,
  );

  log('');
  log('Partition spread');
  await spread(['n1', 'n2', 'n3']);

  log('');
  log(`n3 leaves and n4 joins while ${WRITERS} writers keep writing through n1 and n2`);
  let stopWriters = false;
  let acked = 0;
  let failed = 0;
  const writerStart = performance.now();
  const changesStarted = Date.now();
  const writer = async (w: number) => {
    const via = w % 2 === 0 ? 'n1' : 'n2';
    let version = 0;
    while (!stopWriters && performance.now() - writerStart < WRITER_MAX_MS) {
      version++;
      // Half the writes overwrite demo keys, half create new ones; each
      // writer owns its keys, so no two writes to a key are in flight.
      const k = version % 2 === 0 ? `key-${(w + WRITERS * version) % KEYS}` : `w${w}-${version}`;
      const value = version;
      const e = model.get(k) ?? { acked: undefined, inDoubt: [] };
      model.set(k, e);
      try {
        await client(via).put([k, value]);
        e.acked = value;
        e.inDoubt = [];
        acked++;
      } catch {
        e.inDoubt.push(value);
        failed++;
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_v, w) => writer(w));

  const tLeave = performance.now();
  const code = await (nodes.get('n3') as NodeProcess).stop(30_000);
  const leaveMs = performance.now() - tLeave;
  nodes.delete('n3');
  await client('n3').close();
  clients.delete('n3');
  log(`  n3 left (exit code ${code}) in ${Math.round(leaveMs)} ms`);
  const tJoin = performance.now();
  await start('n4', { n1: n1.url, n2: (nodes.get('n2') as NodeProcess).url });
  const joinMs = performance.now() - tJoin;
  stopWriters = true;
  await Promise.all(writers);
  const writerMs = performance.now() - writerStart;
  log(
    `  writers: ${acked.toLocaleString('en-US')} writes acknowledged, ${failed} failed, in ${Math.round(writerMs)} ms`,
  );

  log('');
  log('Partition spread');
  await spread(['n1', 'n2', 'n4']);

  log('');
  log(`Verifying all ${model.size.toLocaleString('en-US')} keys with their last value (through n4 and n1)`);
  const tVerify = performance.now();
  const lost: string[] = [];
  const entries = [...model.entries()];
  let i = 0;
  await pool(entries, 64, async ([k, e]) => {
    const via = i++ % 2 === 0 ? 'n4' : 'n1';
    const got = await client(via).get(k);
    const value = got.length === 1 ? (got[0]?.[1] as number) : undefined;
    const ok =
      (e.acked !== undefined && value === e.acked) || (value !== undefined && e.inDoubt.includes(value));
    const okAbsent = e.acked === undefined && value === undefined;
    if (!ok && !okAbsent) lost.push(`${k}: got ${JSON.stringify(got)}, want ${e.acked}`);
  });
  log(`  checked in ${ms(tVerify)}`);

  // n1 has the smallest id: it leads, and records every handoff it drove.
  const led = (await client('n1').stats()).handoffs.filter((r) => r.at >= changesStarted && r.entries > 0);
  const moved = led.reduce((n, r) => n + r.entries, 0);

  log('');
  log('Summary');
  log(
    `  keys written first     ${KEYS.toLocaleString('en-US')} (read back through n2: ${(KEYS - readMisses).toLocaleString('en-US')})`,
  );
  log(
    `  writes during changes  ${acked.toLocaleString('en-US')} acknowledged, ${failed} failed (not acknowledged)`,
  );
  log(`  keys verified          ${model.size.toLocaleString('en-US')}`);
  log(`  lost or stale          ${lost.length}`);
  log(`  graceful leave (n3)    ${Math.round(leaveMs)} ms`);
  log(`  join (n4)              ${Math.round(joinMs)} ms`);
  log(
    `  handoff entries        ${moved.toLocaleString('en-US')} moved in ${led.length} handoffs (${led.map((r) => `${r.entries} in ${r.durationMs} ms`).join(', ')})`,
  );
  log(`  total                  ${ms(t0)}`);
  for (const l of lost.slice(0, 10)) log(`  LOST ${l}`);
  const okRun = lost.length === 0 && readMisses === 0;
  log('');
  log(okRun ? 'OK: every acknowledged write is readable with its last value.' : 'FAILED: data was lost.');
  return okRun ? 0 : 1;
}

async function cleanup(): Promise<void> {
  await Promise.allSettled([...clients.values()].map((c) => c.close()));
  await Promise.allSettled([...nodes.values()].map((n) => n.kill()));
}

const deadline = setTimeout(() => {
  log(`FAILED: the demo did not finish within ${DEADLINE_MS / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);
deadline.unref();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (e: unknown) => {
    log(`FAILED: ${(e as Error).stack ?? String(e)}`);
    for (const n of nodes.values()) for (const l of n.stderr.slice(-10)) log(`  [${n.id}] ${l}`);
    await cleanup();
    process.exit(1);
  },
);
