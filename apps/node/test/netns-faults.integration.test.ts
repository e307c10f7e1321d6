/**
 * Faults that cut real links: three `supercache-node` processes, each in its
 * own network namespace (netns.ts), talking over veth pairs on a bridge.
 * Partitions are nftables drops inside a namespace, a slow lossy link is
 * `tc netem`. Every run is under the checked load loop of fault-load.ts
 * (every acknowledged write and every read checked against the model,
 * bounded in operations and time).
 *
 * Needs root and `ip`, `nft`, `tc` (Debian: iproute2, nftables; `.ci/run`
 * installs them); without them the file is skipped with the reason printed.
 * Nothing here asserts a duration.
 */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SuperCacheError } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonClient } from '../src/json-client.js';
import { sourceCliCommand } from '../src/node-process.js';
import { expectClean, summary } from './fault-checks.js';
import { FaultLoad } from './fault-load.js';
import { checkHistory } from './linearizability.js';
import { NetnsBed, netnsSupport } from './netns.js';
import { eventually, ProcessCluster, ROOT } from './process-cluster.js';

const FAILURE_TIMEOUT_MS = 1200;
const HEARTBEAT_MS = 100;
const TABLE = 'supercache.main';
const SEED = 20_261_208;
const IDS = ['a', 'b', 'c'] as const;

const support = netnsSupport();
if (support.ok) console.log(`netns-faults: load seed ${SEED}`);
else console.log(`netns-faults: SKIPPED, the namespace fault bed cannot run here: ${support.reason}`);

type Mode = 'async' | 'sync' | 'strong';

interface Health {
  state: string;
  epoch: number;
  members: Array<{ id: string }>;
  replication?: Record<string, { outOfSync: number; primaries: number }>;
}

let cluster: ProcessCluster | undefined;
let bed: NetnsBed | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  await bed?.destroy();
  bed = undefined;
});

const index = (id: string) => IDS.indexOf(id as (typeof IDS)[number]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function health(c: ProcessCluster, id: string): Promise<Health> {
  return (await c.client(id).request('GET', '/health')) as Health;
}

/** Three nodes, node `IDS[i]` in namespace `i` listening on its namespace address. */
async function startCluster(rf: number, mode: Mode): Promise<ProcessCluster> {
  const b = await NetnsBed.create(IDS.length);
  bed = b;
  const c = new ProcessCluster(16, {
    extraArgs: [
      '--replication-factor',
      String(rf),
      '--replication-mode',
      mode,
      '--failure-timeout-ms',
      String(FAILURE_TIMEOUT_MS),
      '--heartbeat-ms',
      String(HEARTBEAT_MS),
    ],
    // Longer than a node's own retries of a routed call (8 attempts of up to 5 s): a client that gives up
    // sooner leaves a write the node still retries, which can land after newer writes (see the report).
    clientTimeoutMs: 60_000,
    // The client API listens on the namespace address, off loopback: it needs a token.
    clientToken: randomBytes(16).toString('hex'),
    placement: {
      command: (id) => b.command(index(id), sourceCliCommand(ROOT)),
      host: (id) => b.address(index(id)),
      clientUrl: (id, url) => b.localUrl(index(id), url),
    },
  });
  cluster = c;
  for (const id of IDS) await c.start(id);
  expect(await settled(c, IDS), c.logs()).toBe(true);
  // The nodes found each other on the namespace addresses, not on 127.0.0.1.
  for (const id of IDS) expect(c.node(id).url).toContain(`//${b.address(index(id))}:`);
  return c;
}

/** True once every node of `ids` runs with exactly `ids` as members in one epoch, every copy in sync. */
async function settled(c: ProcessCluster, ids: readonly string[], timeoutMs = 30_000): Promise<boolean> {
  const want = [...ids].sort().join(',');
  return eventually(async () => {
    const hs = await Promise.all(ids.map((id) => health(c, id)));
    return (
      new Set(hs.map((h) => h.epoch)).size === 1 &&
      hs.every(
        (h) =>
          h.state === 'running' &&
          h.members
            .map((m) => m.id)
            .sort()
            .join(',') === want &&
          (h.replication?.[TABLE]?.outOfSync ?? 0) === 0,
      )
    );
  }, timeoutMs);
}

function loadOptions(c: ProcessCluster, nodes: () => readonly string[], until: () => boolean) {
  return {
    nodes,
    client: (id: string) => c.client(id),
    workers: 6,
    keysPerWorker: 8,
    maxOpsPerWorker: 20_000,
    maxMs: 100_000,
    readRatio: 0.5,
    seed: SEED,
    retryMs: 3 * FAILURE_TIMEOUT_MS,
    until,
  };
}

const ackedWrites = (load: FaultLoad) =>
  load.ops.filter((o) => o.kind === 'write' && o.complete !== undefined).length;

/** Resolves once the load acknowledged `n` more writes than now (bounded by `timeoutMs`). */
async function afterWrites(load: FaultLoad, n: number, timeoutMs = 15_000): Promise<boolean> {
  const target = ackedWrites(load) + n;
  return eventually(() => ackedWrites(load) >= target, timeoutMs);
}

/** The error `call` fails with, or undefined if it succeeded. */
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (e) {
    return e;
  }
}

function expectNoQuorum(e: unknown, what: string): void {
  expect(SuperCacheError.is(e), `${what}: ${String(e)}`).toBe(true);
  const err = e as SuperCacheError;
  expect(err.code, `${what}: ${err.message}`).toBe('SC_ERR_NO_QUORUM');
  expect(err.retryable, what).toBe(true);
}

/**
 * One write of each of `n` fresh keys through node `id`, all at once over
 * their own connections: which were acknowledged, which refused with
 * `SC_ERR_NO_QUORUM`, and the other failures.
 */
async function minorityWrites(
  c: ProcessCluster,
  id: string,
  n: number,
): Promise<{ acked: string[]; noQuorum: string[]; otherErrors: unknown[] }> {
  const keys = Array.from({ length: n }, (_x, i) => `minority-${i}`);
  const probe = new JsonClient(c.client(id).url, {
    connections: n,
    timeoutMs: 4 * FAILURE_TIMEOUT_MS,
    ...(c.clientToken === undefined ? {} : { token: c.clientToken }),
  });
  try {
    const results = await Promise.all(keys.map((k) => failure(() => probe.put([k, 1]))));
    const out = { acked: [] as string[], noQuorum: [] as string[], otherErrors: [] as unknown[] };
    results.forEach((e, i) => {
      const k = keys[i] as string;
      if (e === undefined) out.acked.push(k);
      else if (SuperCacheError.is(e) && e.code === 'SC_ERR_NO_QUORUM') out.noQuorum.push(k);
      else out.otherErrors.push(e);
    });
    return out;
  } finally {
    await probe.close();
  }
}

describe.skipIf(!support.ok)('real links cut between network namespaces', () => {
  describe.each([
    ['sync', 'c', 'a non-leader'],
    ['sync', 'a', 'the leader'],
    ['strong', 'c', 'a non-leader'],
    ['strong', 'a', 'the leader'],
  ] as const)('RF 3 %s, a partition isolating %s (%s)', (mode, victim, _role) => {
    it('the minority refuses with SC_ERR_NO_QUORUM, the majority serves every key, nothing acknowledged is lost after healing', async () => {
      const c = await startCluster(3, mode);
      const b = bed as NetnsBed;
      const majority = IDS.filter((id) => id !== victim);
      let stop = false;
      let cut = false;
      let paused = false;
      const load = new FaultLoad();
      // Through every node before the cut, through the majority after it (the minority side's clients
      // are the probe below).
      const running = load.run({
        ...loadOptions(
          c,
          () => (cut ? majority : IDS),
          () => stop,
        ),
        paused: () => paused,
      });
      expect(await afterWrites(load, 150, 30_000), `${summary(load.check())}\n${c.logs()}`).toBe(true);
      // No load operation is in flight through the victim when the link goes down (see the report on
      // writes stranded on the minority side).
      paused = true;
      expect(await eventually(() => load.inFlight === 0, 20_000)).toBe(true);
      const cutAt = performance.now();
      await b.partition(index(victim));
      cut = true;
      paused = false;
      const removed = await eventually(
        async () => !(await c.members(majority[0] as string)).includes(victim),
        15_000,
      );
      expect(removed, c.logs()).toBe(true);
      const removedAt = performance.now();
      expect(await settled(c, majority), c.logs()).toBe(true);
      const settledAt = performance.now();
      // Through the isolated node, nothing is acknowledged: one write of each of 32 keys, all at once (own
      // connections, so a write it forwards to the unreachable side does not queue the others).
      const minority = await minorityWrites(c, victim, 32);
      const probedAt = performance.now();
      expect(minority.acked, c.logs()).toEqual([]);
      // Keys of the partitions it leads are refused at once with the typed retryable error, reads too.
      expect(minority.noQuorum.length).toBeGreaterThan(0);
      for (const k of minority.noQuorum.slice(0, 3))
        expectNoQuorum(await failure(() => c.client(victim).get(k)), `get ${k} via ${victim}`);
      for (const e of minority.otherErrors)
        if (SuperCacheError.is(e)) expect(e.retryable, String(e)).toBe(true);
      // The majority keeps acknowledging writes (the loop's reads of every key are checked as it goes).
      expect(await afterWrites(load, 200), summary(load.check())).toBe(true);
      stop = true;
      await running;
      const stoppedAt = performance.now();
      // Every key written so far, read through each node of the majority while the split lasts.
      await load.verify({ client: (id) => c.client(id), retryMs: 3 * FAILURE_TIMEOUT_MS }, majority);
      const during = load.check();
      expect(during.finalsFailed, summary(during)).toBe(0);
      expect(during.misses).toEqual([]);
      await b.heal();
      const healedAt = performance.now();
      expect(await settled(c, IDS), c.logs()).toBe(true);
      // After healing: each node, the rejoined one included, serves every key at its last acknowledged value.
      await load.verify({ client: (id) => c.client(id), retryMs: 3 * FAILURE_TIMEOUT_MS }, IDS);
      const r = load.check();
      console.log(
        `netns RF3 ${mode} partition of ${victim}: ${summary(r)}; rejoined ${Math.round(performance.now() - healedAt)} ms after the heal, ` +
          `split lasted ${Math.round(healedAt - cutAt)} ms (removed after ${Math.round(removedAt - cutAt)}, majority settled after ` +
          `${Math.round(settledAt - cutAt)}, minority probe done after ${Math.round(probedAt - cutAt)}, load stopped after ${Math.round(stoppedAt - cutAt)}); through the isolated node ${minority.noQuorum.length} writes refused ` +
          `with SC_ERR_NO_QUORUM, ${minority.otherErrors.length} others failed (${minority.otherErrors.map((e) => String(e).slice(0, 60)).join('; ')})`,
      );
      expectClean(c, r);
      // The refused writes left nothing behind.
      for (const id of IDS)
        for (const k of minority.noQuorum) expect(await c.client(id).get(k), `${k} via ${id}`).toEqual([]);
      if (mode === 'strong') {
        const v = checkHistory(load.history());
        expect(v.failures, JSON.stringify(v.failures)).toEqual([]);
        console.log(
          `netns RF3 strong partition of ${victim}: linearizable, ${v.keys} keys, ${v.ops} operations`,
        );
      }
    }, 120_000);
  });

  it('RF 2 async: the isolated primary acknowledges writes until its lease lapses; they are lost when the split heals', async () => {
    const c = await startCluster(2, 'async');
    const b = bed as NetnsBed;
    const victim = 'c';
    const majority = IDS.filter((id) => id !== victim);
    const keys = Array.from({ length: 48 }, (_x, i) => `split-${i}`);
    await c.client('a').putBatch(keys.map((k) => [k, 1]));
    expect(await settled(c, IDS)).toBe(true);
    for (const id of IDS)
      for (const k of keys) expect(await c.client(id).get(k), `${k} via ${id}`).toEqual([[k, 1]]);
    await b.partition(index(victim));
    // Right after the cut, one write of every key through the isolated node, all at once (its own
    // connections, so writes it forwards to the unreachable side do not queue the others).
    const probe = new JsonClient(c.client(victim).url, {
      connections: keys.length,
      timeoutMs: 4 * FAILURE_TIMEOUT_MS,
      ...(c.clientToken === undefined ? {} : { token: c.clientToken }),
    });
    let results: Array<unknown>;
    try {
      results = await Promise.all(keys.map((k) => failure(() => probe.put([k, 2]))));
    } finally {
      await probe.close();
    }
    const ackedOnMinority = keys.filter((_k, i) => results[i] === undefined);
    // It was primary of some partitions, so it acknowledged the writes to those keys locally.
    expect(ackedOnMinority.length).toBeGreaterThan(0);
    const refusals: Record<string, number> = {};
    for (const e of results)
      if (e !== undefined) {
        const code = SuperCacheError.is(e) ? e.code : String((e as Error).name);
        refusals[code] = (refusals[code] ?? 0) + 1;
      }
    // Once the majority removed it, its lease has long lapsed: it acknowledges nothing more.
    expect(await eventually(async () => !(await c.members('a')).includes(victim), 15_000), c.logs()).toBe(
      true,
    );
    expect(await settled(c, majority), c.logs()).toBe(true);
    const own = ackedOnMinority[0] as string;
    expectNoQuorum(await failure(() => c.client(victim).put([own, 3])), `put ${own} via ${victim}`);
    // The majority serves every key: from its own copies (value 1) — the minority's writes never reached it.
    for (const id of majority)
      for (const k of keys) expect(await c.client(id).get(k), `${k} via ${id}`).toEqual([[k, 1]]);
    await b.heal();
    expect(await settled(c, IDS), c.logs()).toBe(true);
    const after = new Map<string, unknown>();
    for (const id of IDS) for (const k of keys) after.set(`${id}/${k}`, await c.client(id).get(k));
    const survived = ackedOnMinority.filter((k) =>
      IDS.some((id) => JSON.stringify(after.get(`${id}/${k}`)) === JSON.stringify([[k, 2]])),
    );
    console.log(
      `netns RF2 async partition of ${victim}: ${ackedOnMinority.length} of ${keys.length} writes acknowledged by the isolated node, ` +
        `${survived.length} survived the heal; refusals ${JSON.stringify(refusals)}`,
    );
    // Every node, the rejoined one included, serves the majority's value of the keys the minority
    // acknowledged: those writes are gone.
    for (const id of IDS)
      for (const k of ackedOnMinority) expect(after.get(`${id}/${k}`), `${k} via ${id}`).toEqual([[k, 1]]);
    // The writes it did not acknowledge have an unknown outcome (it may still retry them after the heal),
    // but every node agrees on each key.
    for (const k of keys) {
      const seen = new Set(IDS.map((id) => JSON.stringify(after.get(`${id}/${k}`))));
      expect(seen.size, k).toBe(1);
      expect([JSON.stringify([[k, 1]]), JSON.stringify([[k, 2]])]).toContain([...seen][0]);
    }
  }, 120_000);

  // Writes sent through the isolated node right after the cut are not acknowledged (refused, or their
  // client gives up). With a long split, the node has given up on them before the heal; with a short one,
  // the heal comes while it still waits on a peer call it made under the old view.
  it.each([
    ['a long split', false],
    ['a split that heals while the isolated node still waits on them', true],
  ] as const)(
    'RF 3 sync, writes stranded on the isolated node during %s never overwrite what the majority acknowledged',
    async (label, short) => {
      const c = await startCluster(3, 'sync');
      const b = bed as NetnsBed;
      const victim = 'c';
      const majority = IDS.filter((id) => id !== victim);
      const keys = Array.from({ length: 32 }, (_x, i) => `stranded-${i}`);
      // A value names the node it was written through and the round: `c:1` is a stranded write.
      await c.client('a').putBatch(keys.map((k) => [k, 'a:0']));
      expect(await settled(c, IDS), c.logs()).toBe(true);
      await b.partition(index(victim));
      const cutAt = performance.now();
      // One write of every key through the isolated node, all at once on their own connections; their
      // client gives up sooner than the node's own peer calls (callTimeoutMs, 5 s by default) time out.
      const probe = new JsonClient(c.client(victim).url, {
        connections: keys.length,
        timeoutMs: short ? FAILURE_TIMEOUT_MS : 4 * FAILURE_TIMEOUT_MS,
        ...(c.clientToken === undefined ? {} : { token: c.clientToken }),
      });
      let stranded: unknown[];
      try {
        stranded = await Promise.all(keys.map((k) => failure(() => probe.put([k, `${victim}:1`]))));
      } finally {
        await probe.close();
      }
      const strandedAcked = keys.filter((_k, i) => stranded[i] === undefined);
      expect(strandedAcked, c.logs()).toEqual([]);
      expect(await eventually(async () => !(await c.members('a')).includes(victim), 15_000), c.logs()).toBe(
        true,
      );
      expect(await settled(c, majority), c.logs()).toBe(true);
      // The majority writes every key in three rounds, each acknowledged (a refused attempt is retried,
      // bounded), alternating the node it writes through.
      const last = new Map<string, string>();
      for (let round = 2; round <= 4; round++) {
        const via = majority[round % majority.length] as string;
        for (const k of keys) {
          const v = `${via}:${round}`;
          let err: unknown;
          for (let attempt = 0; attempt < 20; attempt++) {
            err = await failure(() => c.client(via).put([k, v]));
            if (err === undefined) break;
            await sleep(100);
          }
          expect(err, `${k} = ${v} via ${via}`).toBeUndefined();
          last.set(k, v);
        }
      }
      await b.heal();
      const healedAt = performance.now();
      expect(await settled(c, IDS), c.logs()).toBe(true);
      const rejoinedAt = performance.now();
      // Whatever the isolated node still had under way has ended by now (its peer calls and their retries
      // are bounded by twice callTimeoutMs after the cut): the reads see the final state.
      await sleep(Math.max(0, cutAt + 12_000 - performance.now()));
      // Every node, the rejoined one included, serves each key at the majority's last acknowledged value.
      const wrong: string[] = [];
      let reads = 0;
      for (const id of IDS)
        for (const k of keys) {
          let got: unknown;
          for (let attempt = 0; attempt < 20; attempt++) {
            const e = await failure(async () => {
              got = await c.client(id).get(k);
            });
            if (e === undefined) break;
            got = `error ${String(e)}`;
            await sleep(100);
          }
          reads++;
          if (JSON.stringify(got) !== JSON.stringify([[k, last.get(k)]]))
            wrong.push(`${k} via ${id}: ${JSON.stringify(got)}, acknowledged ${last.get(k)}`);
        }
      const refusals: Record<string, number> = {};
      for (const e of stranded) {
        const code = SuperCacheError.is(e) ? e.code : String((e as Error).name);
        refusals[code] = (refusals[code] ?? 0) + 1;
      }
      console.log(
        `netns RF3 sync stranded writes on ${victim}, ${label}: ${reads - wrong.length} of ${reads} reads at the last ` +
          `acknowledged value; split lasted ${Math.round(healedAt - cutAt)} ms, rejoined ${Math.round(rejoinedAt - healedAt)} ms ` +
          `after the heal; the stranded writes failed with ${JSON.stringify(refusals)}` +
          `${wrong.length > 0 ? `; wrong: ${wrong.join('; ')}` : ''}`,
      );
      expect(wrong, c.logs()).toEqual([]);
    },
    120_000,
  );

  /** RF 2 sync under the checked load through every node while node c's link is degraded. */
  async function degradedLink(label: string, degrade: (b: NetnsBed) => Promise<void>): Promise<NetnsBed> {
    const c = await startCluster(2, 'sync');
    await degrade(bed as NetnsBed);
    const load = new FaultLoad();
    await load.run({
      ...loadOptions(
        c,
        () => IDS,
        () => false,
      ),
      maxOpsPerWorker: 120,
    });
    await load.verify({ client: (id) => c.client(id), retryMs: 3 * FAILURE_TIMEOUT_MS }, IDS);
    const r = load.check();
    const h = await health(c, 'a');
    console.log(
      `netns RF2 sync ${label} on c: ${summary(r)}; members at the end ${h.members.map((m) => m.id).join(',')}`,
    );
    expectClean(c, r);
    return bed as NetnsBed;
  }

  it('RF 2 sync, one node losing 2 % of its packets each way (nftables): no acknowledged write lost, no stale read', async () => {
    const b = await degradedLink('2 % loss (nftables)', (b) => b.loss(index('c'), 2));
    // The link really lost packets while the load ran.
    const dropped = await b.lossDropped(index('c'));
    console.log(`netns RF2 sync 2 % loss: ${dropped} packets dropped on c's link`);
    expect(dropped).toBeGreaterThan(0);
  }, 120_000);

  const netem = support.ok ? support.netem : { ok: false as const, reason: 'no bed' };
  if (!netem.ok) console.log(`netns-faults: the netem test is SKIPPED: ${netem.reason}`);
  it.skipIf(!netem.ok)(
    'RF 2 sync, one node behind a slow lossy link (netem 50 ms delay, 2 % loss): no acknowledged write lost, no stale read',
    async () => {
      await degradedLink('netem 50 ms + 2 %', (b) => b.netem(index('c'), { delayMs: 50, lossPct: 2 }));
    },
    120_000,
  );
});
