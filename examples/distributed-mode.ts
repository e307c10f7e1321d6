/**
 * SuperCache — distributed mode example.
 *
 * Mirrors the seed's `examples/distributed_mode_example.exs`: a cluster of
 * three nodes on 127.0.0.1 (HTTP transport, one port each), writes through
 * one node and reads through another, the three replication modes, the
 * three read modes, read-your-writes, a node stopped hard, the health
 * report, and a graceful leave. Run it with:
 *
 *     pnpm example:distributed
 *
 * The three nodes live in this one process so the example is one command;
 * each is what one application process would hold: an `HttpTransport`, a
 * `ClusterNode`, a `SuperCache` and a `PartitionedTable` sharing that node.
 * It prints what it does, stops every node, and exits by itself (exit code 1
 * if anything fails or it runs longer than {@link HARD_TIMEOUT_MS}).
 */

import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import {
  PartitionedTable,
  type ReadMode,
  type ReplicationMode,
  SuperCache,
  type Tuple,
} from '@supercache/core';
import { ClusterNode, clusterProvider, HttpTransport } from '@supercache/core/cluster';

/** The whole run is bounded: past this the process exits 1, whatever is still open. */
const HARD_TIMEOUT_MS = 90_000;
/** Partitions of every cache; a cluster-wide setting. */
const NUM_PARTITION = 8;
/** Copies of each partition (primary included): any one node may fail without losing data. */
const REPLICATION_FACTOR = 2;
/**
 * Faster failure detection than the defaults (500 / 3000 ms) so the crash
 * section is short; generous enough for a busy machine.
 */
const TIMING = { heartbeatMs: 250, failureTimeoutMs: 2500 } as const;
/** The name SuperCache's tuple table has in the cluster (docs/guides/distributed.md). */
const MAIN_TABLE = 'supercache.main';
const USERS = 30;
const ORDERS = 20;

/** What one application process holds in this example. */
interface Member {
  readonly id: string;
  readonly transport: HttpTransport;
  readonly node: ClusterNode;
  readonly cache: SuperCache;
  /** The PartitionedTable `orders`, on the main cluster only. */
  orders: PartitionedTable | undefined;
  /** True once this member was left or stopped. */
  down: boolean;
}

/** Every member ever started, so cleanup can stop whatever is still up. */
const everyMember: Member[] = [];

function show(value: unknown): string {
  return JSON.stringify(value);
}

function user(i: number): Tuple {
  return ['user', i, `User_${i}`];
}

/** Resolves when `test()` holds, polling every 25 ms; rejects past `ms`. */
async function until(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Starts three nodes `a`, `b`, `c` of one cluster. Replication mode and
 * factor are cluster-wide settings (a node that differs is refused), so
 * each mode of section 3 gets a cluster of its own.
 */
async function startCluster(
  label: string,
  replicationMode: ReplicationMode,
  withOrders: boolean,
): Promise<Member[]> {
  // The cluster secret authenticates every peer request.
  const secret = randomBytes(24).toString('hex');
  const members: Member[] = [];
  for (const id of ['a', 'b', 'c']) {
    // Port 0: the transport picks a free port; read it back as `address`.
    const transport = new HttpTransport({ nodeId: id, secret, listen: { host: '127.0.0.1', port: 0 } });
    await transport.start();
    const address = transport.address as string;
    // Peers: the nodes already up. The first node finds none and forms the
    // cluster; each next one joins through them.
    const peers = members.map((m) => ({ id: m.id, address: m.transport.address as string }));
    // The application owns the node (rather than letting clusterProvider
    // create one) so that the cache and the table share it, and so that it
    // can read node.health() and stop the node hard (section 6).
    const node = new ClusterNode({
      nodeId: id,
      address,
      transport,
      peers,
      ...TIMING,
      config: {
        numPartition: NUM_PARTITION,
        replicationFactor: REPLICATION_FACTOR,
        replicationMode,
        tableType: 'set',
        keyPos: 1,
        partitionPos: 1,
      },
    });
    const cache = new SuperCache({
      cluster: 'distributed',
      nodeId: id,
      keyPos: 1,
      partitionPos: 1,
      numPartition: NUM_PARTITION,
      replicationFactor: REPLICATION_FACTOR,
      replicationMode,
      clusterProvider: clusterProvider({ node }),
    });
    const member: Member = { id, transport, node, cache, orders: undefined, down: false };
    everyMember.push(member);
    // One node at a time: each join hands the newcomer its share of the partitions.
    await cache.start();
    if (withOrders) {
      // A PartitionedTable on the same node: 4 shards of its own per node.
      member.orders = await PartitionedTable.start({
        name: 'orders',
        partitions: 4,
        distributed: true,
        clusterProvider: clusterProvider({ node }),
      });
    }
    members.push(member);
  }
  const last = members[2] as Member;
  console.log(
    `${label}: nodes a, b, c on ${members.map((m) => m.transport.address).join(', ')} ` +
      `(${replicationMode}, replicationFactor ${REPLICATION_FACTOR}); node c sees members ` +
      `${last.node.view.members.join(', ')}, leader ${last.node.leader}`,
  );
  return members;
}

/** The primary and the copies of `user(id)`'s partition, as the cluster places it. */
function placementOf(m: Member, id: number): { primary: string; copies: readonly string[] } {
  const table = m.node.getTable(MAIN_TABLE);
  if (table === undefined) throw new Error(`node ${m.id} has no table ${MAIN_TABLE}`);
  const owner = table.ownerOf(id);
  return { primary: owner.node, copies: table.replicasOf(owner.shard) };
}

/** Nodes whose own copy (`cache.local`, no network) holds the tuple of `id` right now. */
function holders(members: readonly Member[], id: number): string[] {
  return members.filter((m) => !m.down && m.cache.local.get(['user', id]).length > 0).map((m) => m.id);
}

/** Each node's highest backup lag in records, summed: 0 once every backup acknowledged everything. */
function replicationLag(members: readonly Member[]): number {
  let lag = 0;
  for (const m of members) {
    if (m.down) continue;
    lag += m.node.health().replication[MAIN_TABLE]?.maxLagRecords ?? 0;
  }
  return lag;
}

/** Leaves gracefully: flush buffered writes, hand the node's data off, then close the facades. */
async function leave(m: Member): Promise<void> {
  await m.cache.flush();
  // Leave first: the node's tables are the facades' storage, and the handoff ships from them.
  await m.node.leave();
  await m.orders?.stop();
  await m.cache.stop();
  m.down = true;
}

/** Stops hard, like a crash: no leave, no handoff; the node's transport closes. */
async function crash(m: Member): Promise<void> {
  await m.node.stop();
  await m.orders?.stop();
  await m.cache.stop();
  m.down = true;
}

async function main(): Promise<void> {
  // ── 1. Start a cluster ──────────────────────────────────────────────────
  console.log('=== Starting a three-node cluster (Distributed Mode) ===\n');
  const cluster = await startCluster('Main cluster', 'async', true);
  const [a, b, c] = cluster as [Member, Member, Member];
  console.log(`Distributed mode? ${a.cache.distributed}`);
  const stats = await a.cache.clusterStats();
  console.log(
    `Primary partitions per node: ${stats.nodes.map((n) => `${n.nodeId}=${n.primaryPartitions}`).join(' ')} ` +
      `(of ${stats.numPartition})\n`,
  );

  // ── 2. Writes through one node, reads through another ───────────────────
  console.log('=== Writes through one node, reads through another ===\n');
  const batch: Tuple[] = [];
  for (let i = 1; i <= USERS; i++) batch.push(user(i));
  await a.cache.putBatch(batch);
  console.log(`Wrote ${USERS} users through node a (each goes to its partition's primary)`);
  console.log(`Get user 7 through node b: ${show(await b.cache.get(['user', 7]))}`);
  let found = 0;
  for (let i = 1; i <= USERS; i++)
    if ((await c.cache.get(['user', i], { readMode: 'primary' })).length) found++;
  console.log(`Users readable through node c: ${found}/${USERS}`);
  const orders = b.orders as PartitionedTable;
  for (let i = 1; i <= ORDERS; i++) await orders.insert([`order-${i}`, i * 10]);
  console.log(
    `PartitionedTable orders: inserted ${ORDERS} orders through node b (shards on all three nodes)`,
  );
  console.log(
    `Lookup order-5 through node a: ${show(await (a.orders as PartitionedTable).lookup('order-5'))}`,
  );
  console.log(`Orders counted through node c: ${await (c.orders as PartitionedTable).size()}\n`);

  // ── 3. Replication modes ────────────────────────────────────────────────
  console.log('=== Replication modes ===\n');
  console.log('The mode is a cluster-wide setting, so sync and strong each get their own three nodes.');
  const syncCluster = await startCluster('Sync cluster', 'sync', false);
  const strongCluster = await startCluster('Strong cluster', 'strong', false);
  const waited: Record<ReplicationMode, string> = {
    async: 'the primary only; its backup catches up in the background',
    sync: `a majority of the ${REPLICATION_FACTOR} copies: here both the primary and its backup`,
    strong:
      'a majority of the copies, like sync; and a primary read waits until earlier writes are committed',
  };
  for (const [mode, members] of [
    ['async', cluster],
    ['sync', syncCluster],
    ['strong', strongCluster],
  ] as const) {
    const [first] = members as readonly Member[] as [Member];
    await first.cache.put(['user', 100, `written in ${mode} mode`]);
    const place = placementOf(first, 100);
    console.log(`${mode}: put through node a waited for ${waited[mode]}`);
    console.log(
      `${mode}: copies of user 100 (primary ${place.primary}, copies ${place.copies.join('+')}) ` +
        `held right after the put: ${holders(members, 100).length} of 3 nodes`,
    );
  }
  console.log(
    `strong: read through node b with readMode 'primary': ` +
      `${show(await (strongCluster[1] as Member).cache.get(['user', 100], { readMode: 'primary' }))}`,
  );
  for (const m of [...syncCluster, ...strongCluster].reverse()) await leave(m);
  console.log('Sync and strong clusters left gracefully; the rest runs on the main (async) cluster.\n');

  // ── 4. Read modes, per call, and read-your-writes ───────────────────────
  console.log('=== Read modes ===\n');
  const place = placementOf(a, 7);
  const backup = cluster.find((m) => m.id !== place.primary && place.copies.includes(m.id)) as Member;
  const outsider = cluster.find((m) => !place.copies.includes(m.id)) as Member;
  console.log(
    `User 7 lives in a partition with primary ${place.primary} and backup ${backup.id}; ` +
      `node ${outsider.id} holds no copy`,
  );
  const explain: Record<ReadMode, string> = {
    local: 'its own copy when it holds one (may lag in async mode), else the primary',
    primary: 'the partition’s primary, which applies every write first',
    quorum: `every copy; waits for a majority (${REPLICATION_FACTOR} of ${REPLICATION_FACTOR} here) and answers the newest`,
  };
  for (const readMode of ['local', 'primary', 'quorum'] as const) {
    const got = await outsider.cache.get(['user', 7], { readMode });
    console.log(`readMode '${readMode}' through node ${outsider.id} — ${explain[readMode]}: ${show(got)}`);
  }

  console.log(
    '\nRead-your-writes: a write, then at once a read through another node, then through the same one.',
  );
  const primary = cluster.find((m) => m.id === place.primary) as Member;
  await primary.cache.put(['user', 7, 'Renamed_7']);
  console.log(`Put ['user', 7, 'Renamed_7'] through node ${primary.id} (the primary)`);
  // The local read first, before anything else gives the backup time to catch up.
  const local = await backup.cache.get(['user', 7], { readMode: 'local' });
  const fresh = show(local) === show([['user', 7, 'Renamed_7']]);
  console.log(
    `readMode 'local' through node ${backup.id} (the backup) right after: ${show(local)} — ` +
      `${fresh ? 'caught up this time' : 'not caught up yet'}: in async mode a local read of ` +
      "another node's write may lag",
  );
  for (const readMode of ['primary', 'quorum'] as const) {
    const got = await backup.cache.get(['user', 7], { readMode });
    console.log(
      `readMode '${readMode}' through node ${backup.id} right after: ${show(got)} — sees the write`,
    );
  }
  // A cache instance remembers the writes acknowledged through it (a token
  // per partition): its own local reads wait for their copy to apply them,
  // at most 50 ms, else ask the primary.
  await backup.cache.put(['user', 7, 'Own_7']);
  const own = await backup.cache.get(['user', 7], { readMode: 'local' });
  console.log(
    `Put ['user', 7, 'Own_7'] through node ${backup.id}, then readMode 'local' through node ${backup.id}: ` +
      `${show(own)} — a node's own writes are read-your-writes even on a lagging backup`,
  );
  console.log('');

  // ── 5. Health report ────────────────────────────────────────────────────
  console.log('=== Health report ===\n');
  // health() waits for nothing: it reads the node's view, failure detector
  // and counters. Wait until every backup acknowledged every record first,
  // so the crash below loses no acknowledged write.
  await until('the backups to catch up', () => replicationLag(cluster) === 0);
  console.log('Backups caught up: replication lag is 0 records on every primary');
  // Every health() call is also published on a diagnostics channel, so a
  // monitoring tool sees every node of the process without references to them.
  const arrived: string[] = [];
  const onHealth = (message: unknown): void => {
    arrived.push((message as { node: string }).node);
  };
  diagnostics.subscribe('supercache:health:check', onHealth);
  const [report] = [a, b, c].map((m) => m.node.health()) as [ReturnType<ClusterNode['health']>];
  diagnostics.unsubscribe('supercache:health:check', onHealth);
  console.log(`Health reports that arrived on supercache:health:check: ${arrived.join(', ')}`);
  console.log(
    `Node ${report.node}: status=${report.status} epoch=${report.epoch} leader=${report.leader} ` +
      `successRate=${report.successRate}`,
  );
  for (const m of report.members) {
    console.log(`  member ${m.id}: alive=${m.alive} rtt=${m.rttMs.toFixed(1)} ms`);
  }
  const balance = report.balance[MAIN_TABLE];
  console.log(
    `  ${MAIN_TABLE} primaries per node: ${show(balance?.owned)} stdDev=${balance?.stdDev.toFixed(2)}`,
  );
  const rep = report.replication[MAIN_TABLE];
  console.log(
    `  replication: mode=${rep?.mode} factor=${rep?.factor} copies=${rep?.copies} shortfall=${rep?.shortfall} ` +
      `maxLag=${rep?.maxLagRecords} records/${rep?.maxLagMs} ms outOfSync=${rep?.outOfSync}`,
  );
  console.log('');

  // The facade checks its health every 5 s (or now, with forceCheck()) and
  // publishes every threshold crossed, and every one cleared, as an alert on
  // supercache:health:alert (and as 'healthAlert' events). Tightening the
  // latency threshold to 0 ms makes every peer cross it; restoring it clears them.
  const alerts: string[] = [];
  const onAlert = (message: unknown): void => {
    const x = message as { node: string; kind: string; subject: string; state: string };
    if (x.node === a.id && x.kind === 'latency') alerts.push(`${x.kind} ${x.subject} ${x.state}`);
  };
  diagnostics.subscribe('supercache:health:alert', onAlert);
  a.cache.configureHealth({ latencyMs: 0 });
  const checked = await a.cache.forceCheck();
  a.cache.configureHealth({ latencyMs: 100 });
  await a.cache.forceCheck();
  diagnostics.unsubscribe('supercache:health:alert', onAlert);
  console.log(
    `Alerts from node a on supercache:health:alert (latency threshold 0 ms, then 100 ms again): ` +
      `${alerts.join(', ')}; active during the check: ${checked.alerts.length}`,
  );
  console.log('');

  // ── 6. A node stopped hard ──────────────────────────────────────────────
  console.log('=== A node stopped hard ===\n');
  const removed = new Promise<string>((resolve) => a.node.once('nodeDown', resolve));
  await crash(c);
  console.log('Stopped node c hard (node.stop(): no leave, no handoff — what a crash looks like)');
  console.log('In async mode a crash loses writes its backups had not acknowledged; the lag above was 0.');
  const gone = await Promise.race([
    removed,
    new Promise<never>((_r, reject) =>
      setTimeout(() => reject(new Error('node c was never declared down')), 20_000).unref(),
    ),
  ]);
  console.log(
    `The leader removed ${gone} after ${TIMING.failureTimeoutMs} ms of silence; members now ` +
      `${a.node.view.members.join(', ')}; the survivors promoted their copies of c's partitions`,
  );
  for (const m of [a, b]) {
    let n = 0;
    for (let i = 1; i <= USERS; i++)
      if ((await m.cache.get(['user', i], { readMode: 'primary' })).length) n++;
    console.log(
      `Users still readable through node ${m.id}: ${n}/${USERS} (every partition had a copy on a or b)`,
    );
  }
  let left = 0;
  for (let i = 1; i <= ORDERS; i++)
    if ((await (a.orders as PartitionedTable).lookup(`order-${i}`)).length) left++;
  console.log(
    `Orders still readable through node a: ${left}/${ORDERS} — this PartitionedTable runs with replicas: 1, ` +
      `so the orders held on c are gone (replicas: 2 with replicationMode: 'sync' would keep them)`,
  );
  const after = a.node.health().replication[MAIN_TABLE];
  console.log(
    `Replication after the crash: hosts=${after?.hosts} copies=${after?.copies} shortfall=${after?.shortfall}\n`,
  );

  // ── 7. Graceful leave ───────────────────────────────────────────────────
  console.log('=== Graceful leave ===\n');
  await leave(b);
  console.log('Node b left gracefully (node.leave(): its partitions were handed to a first)');
  let kept = 0;
  for (let i = 1; i <= USERS; i++) if ((await a.cache.get(['user', i])).length) kept++;
  console.log(
    `Members now ${a.node.view.members.join(', ')}; users readable through node a: ${kept}/${USERS}`,
  );
  const alone = a.node.health().replication[MAIN_TABLE];
  console.log(
    `Replication on a alone: copies=${alone?.copies} shortfall=${alone?.shortfall} (one host left)\n`,
  );

  // ── 8. Cleanup ──────────────────────────────────────────────────────────
  console.log('=== Cleanup ===\n');
  await leave(a);
  console.log('Node a stopped; every node of every cluster is down');
  console.log('\n=== Example Complete ===');
}

/** Stops whatever is still up (after a failure): hard, since the run is over anyway. */
async function cleanup(): Promise<void> {
  for (const m of everyMember) {
    if (m.down) continue;
    await m.node.stop().catch(() => {});
    await m.orders?.stop().catch(() => {});
    await m.cache.stop().catch(() => {});
    // A transport whose node never started is not closed by node.stop().
    await m.transport.stop().catch(() => {});
    m.down = true;
  }
}

const hardTimeout = setTimeout(() => {
  console.error(`distributed-mode example: still running after ${HARD_TIMEOUT_MS} ms, exiting`);
  process.exit(1);
}, HARD_TIMEOUT_MS);
// Unref'd: the timer never keeps the process alive, yet fires if anything else does.
hardTimeout.unref();

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
