import diagnostics from 'node:diagnostics_channel';
import { CHANNELS, MemoryNetwork } from '@supercache/cluster';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clusterProvider } from '../src/cluster.js';
import { evaluateHealth, HealthMonitor, type HealthSnapshot } from '../src/health.js';
import {
  type CacheHealth,
  DEFAULT_HEALTH,
  HEALTH_CHANNELS,
  type HealthAlert,
  PartitionedTable,
  SuperCache,
} from '../src/index.js';
import { FacadeLog } from '../src/log.js';
import { expectCode } from './helpers.js';

const FAST = { heartbeatMs: 50, failureTimeoutMs: 1000 };

let caches: SuperCache[] = [];
let tables: PartitionedTable[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const t of tables) await t.stop().catch(() => {});
  for (const c of [...caches].reverse()) await c.stop().catch(() => {});
  caches = [];
  tables = [];
});

async function local(options: ConstructorParameters<typeof SuperCache>[0] = {}): Promise<SuperCache> {
  const cache = new SuperCache({ numPartition: 4, ...options });
  await cache.start();
  caches.push(cache);
  return cache;
}

async function cluster(ids: readonly string[]): Promise<SuperCache[]> {
  const net = new MemoryNetwork({ seed: 11 });
  const out: SuperCache[] = [];
  for (const id of ids) {
    const cache = new SuperCache({
      cluster: 'distributed',
      nodeId: id,
      numPartition: 8,
      replicationFactor: 1,
      peers: out.map((c) => `${c.config.nodeId}=${c.config.nodeId}`),
      clusterProvider: clusterProvider({ transport: net.createTransport(id), ...FAST }),
      health: { intervalMs: 0 },
    });
    await cache.start();
    out.push(cache);
    caches.push(cache);
  }
  return out;
}

/** Collects what the alert channel publishes while `run` runs. */
async function onAlertChannel(run: () => Promise<void>): Promise<HealthAlert[]> {
  const seen: HealthAlert[] = [];
  const listener = (m: unknown) => seen.push(m as HealthAlert);
  diagnostics.subscribe(HEALTH_CHANNELS.alert, listener);
  try {
    await run();
  } finally {
    diagnostics.unsubscribe(HEALTH_CHANNELS.alert, listener);
  }
  return seen;
}

describe('health options', () => {
  it('defaults to the seed thresholds', async () => {
    expect(DEFAULT_HEALTH).toEqual({
      intervalMs: 5000,
      latencyMs: 100,
      lagMs: 500,
      errorRate: 0.05,
      imbalance: 0.3,
    });
    const cache = await local();
    expect(cache.config.health).toEqual(DEFAULT_HEALTH);
    expect(cache.health().thresholds).toEqual(DEFAULT_HEALTH);
  });

  it('keeps the given thresholds and fills in the rest', () => {
    const cache = new SuperCache({ health: { lagMs: 50, errorRate: 0.5 } });
    expect(cache.config.health).toEqual({ ...DEFAULT_HEALTH, lagMs: 50, errorRate: 0.5 });
  });

  it.each([
    [{ health: 5 }, 'health'],
    [{ health: { intervalMs: -1 } }, 'health.intervalMs'],
    [{ health: { intervalMs: 1.5 } }, 'health.intervalMs'],
    [{ health: { latencyMs: Number.NaN } }, 'health.latencyMs'],
    [{ health: { lagMs: '500' } }, 'health.lagMs'],
    [{ health: { errorRate: 1.5 } }, 'health.errorRate'],
    [{ health: { imbalance: -0.1 } }, 'health.imbalance'],
    [{ health: { latency: 100 } }, 'health.latency'],
  ])('refuses %j with SC_ERR_BAD_CONFIG naming the field', async (options, field) => {
    const err = await expectCode(() => new SuperCache(options as never), 'SC_ERR_BAD_CONFIG');
    expect(err.message).toContain(field);
    const tableErr = await expectCode(
      () => PartitionedTable.start({ name: 'bad_health', ...(options as object) } as never),
      'SC_ERR_BAD_CONFIG',
    );
    expect(tableErr.message).toContain(field);
  });

  it('refuses a bad value given at run time and keeps the thresholds in force', async () => {
    const cache = await local({ health: { intervalMs: 0 } });
    await expectCode(() => cache.configureHealth({ errorRate: 2 }), 'SC_ERR_BAD_CONFIG');
    expect(cache.health().thresholds).toEqual({ ...DEFAULT_HEALTH, intervalMs: 0 });
    expect(cache.configureHealth({ lagMs: 10 })).toEqual({ ...DEFAULT_HEALTH, intervalMs: 0, lagMs: 10 });
  });

  it('answers SC_ERR_NOT_STARTED before start and after stop', async () => {
    const cache = new SuperCache();
    await expectCode(() => cache.health(), 'SC_ERR_NOT_STARTED');
    await cache.start();
    await cache.stop();
    await expectCode(() => cache.health(), 'SC_ERR_NOT_STARTED');
    await expect(cache.forceCheck()).rejects.toMatchObject({ code: 'SC_ERR_NOT_STARTED' });
  });
});

describe('health in local mode', () => {
  it('reports one node owning every partition, one copy and no lag, and says so', async () => {
    const cache = await local({ numPartition: 6 });
    const h = cache.health();
    expect(h.mode).toBe('local');
    expect(h.status).toBe('ok');
    expect(h.nodes).toHaveLength(1);
    expect(h.nodes[0]).toMatchObject({ id: 'local', status: 'up', self: true });
    expect(h.balance.main?.owned).toEqual({ local: 6 });
    expect(h.balance.main?.imbalance).toBe(0);
    expect(Object.keys(h.replication).sort()).toEqual(['kv', 'main', 'sys']);
    expect(h.replication.main).toMatchObject({ copies: 1, replicas: 0, zeroCopy: true, maxLagMs: 0 });
    expect(h.notes.join(' ')).toContain('local mode');
    expect(h.alerts).toEqual([]);
    expect(h.checkedAt).toBeUndefined();
    const checked = await cache.forceCheck();
    expect(checked.checkedAt).toBeTypeOf('number');
  });

  it('names the node by nodeId and answers for a PartitionedTable too', async () => {
    const t = await PartitionedTable.start({ name: 'health_local', partitions: 3, sweepIntervalMs: 0 });
    tables.push(t);
    const h = t.health();
    expect(h.mode).toBe('local');
    expect(h.nodes.map((n) => n.id)).toEqual([t.nodeId]);
    expect(h.balance.health_local).toMatchObject({ placement: 'shards', owned: { [t.nodeId]: 3 } });
    expect(h.replication.health_local?.zeroCopy).toBe(true);
  });

  it('runs periodic checks on an unref-ed timer and stops them on stop()', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const cache = new SuperCache({ health: { intervalMs: 1000 } });
    await cache.start();
    caches.push(cache);
    const reports: CacheHealth[] = [];
    cache.on('healthCheck', (r) => reports.push(r));
    vi.advanceTimersByTime(3000);
    expect(reports).toHaveLength(3);
    // A new interval takes effect at run time.
    cache.configureHealth({ intervalMs: 500 });
    vi.advanceTimersByTime(1000);
    expect(reports).toHaveLength(5);
    await cache.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(reports).toHaveLength(5);
  });

  it('does not keep the process alive: the check timer is unref-ed', async () => {
    const made: { ms: number; timer: ReturnType<typeof setInterval> }[] = [];
    const real = globalThis.setInterval;
    const spy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const timer = real(fn, ms);
      made.push({ ms, timer });
      return timer;
    }) as typeof setInterval);
    const cache = new SuperCache({ numPartition: 2, sweepIntervalMs: 0, health: { intervalMs: 60_000 } });
    await cache.start();
    caches.push(cache);
    spy.mockRestore();
    const ours = made.filter((m) => m.ms === 60_000);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.timer.hasRef()).toBe(false);
  });

  it('checks only on forceCheck() with intervalMs: 0', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const cache = await local({ health: { intervalMs: 0 } });
    const reports: CacheHealth[] = [];
    cache.on('healthCheck', (r) => reports.push(r));
    vi.advanceTimersByTime(60_000);
    expect(reports).toHaveLength(0);
    await cache.forceCheck();
    expect(reports).toHaveLength(1);
  });
});

describe('health of a 3-node cluster (memory transport)', () => {
  it('shows the three nodes with status, RTT and last contact, and the partition balance', async () => {
    const [a] = (await cluster(['a', 'b', 'c'])) as [SuperCache, SuperCache, SuperCache];
    const h = a.health();
    expect(h.mode).toBe('distributed');
    expect(h.node).toBe('a');
    expect(h.nodes.map((n) => n.id).sort()).toEqual(['a', 'b', 'c']);
    for (const n of h.nodes) {
      expect(n.status).toBe('up');
      expect(n.self).toBe(n.id === 'a');
      expect(typeof n.rttMs).toBe('number');
      expect(typeof n.lastContactMsAgo).toBe('number');
    }
    const owned = h.balance.main?.owned ?? {};
    expect(Object.keys(owned).sort()).toEqual(['a', 'b', 'c']);
    expect(Object.values(owned).reduce((s, x) => s + x, 0)).toBe(8);
    // replicationFactor 1: one copy per partition, said so.
    expect(h.replication.main).toMatchObject({ factor: 1, copies: 1, zeroCopy: true });
    expect(h.notes.join(' ')).toContain('zero-copy');
  });

  it('raises an alert when a threshold is crossed and clears it when relaxed, on the channel and as events', async () => {
    const [a] = (await cluster(['a', 'b', 'c'])) as [SuperCache, SuperCache, SuperCache];
    const events: HealthAlert[] = [];
    a.on('healthAlert', (e) => events.push(e));
    // 8 partitions over 3 nodes cannot be even: any imbalance crosses 0.
    const published = await onAlertChannel(async () => {
      a.configureHealth({ imbalance: 0 });
      const raised = await a.forceCheck();
      expect(raised.status).toBe('degraded');
      expect(raised.alerts.map((x) => x.key)).toEqual(['imbalance:main']);
      // Still crossed: no second event for the same condition.
      await a.forceCheck();
      expect(a.health().alerts).toHaveLength(1);
      a.configureHealth({ imbalance: 10 });
      const cleared = await a.forceCheck();
      expect(cleared.status).toBe('ok');
      expect(cleared.alerts).toEqual([]);
    });
    expect(events.map((e) => [e.kind, e.state, e.subject])).toEqual([
      ['imbalance', 'raised', 'main'],
      ['imbalance', 'cleared', 'main'],
    ]);
    expect(events[0]).toMatchObject({ node: 'a', threshold: 0 });
    expect(events[0]?.value).toBeGreaterThan(0);
    expect(events[1]?.threshold).toBe(0);
    expect(published).toEqual(events);
  });

  it('raises a latency alert once heartbeats slow down, and clears it when the threshold is relaxed', async () => {
    const net = new MemoryNetwork({ seed: 13 });
    const nodes: SuperCache[] = [];
    for (const id of ['a', 'b']) {
      const c = new SuperCache({
        cluster: 'distributed',
        nodeId: id,
        numPartition: 4,
        replicationFactor: 1,
        peers: nodes.map((n) => `${n.config.nodeId}=${n.config.nodeId}`),
        clusterProvider: clusterProvider({ transport: net.createTransport(id), ...FAST }),
        health: { intervalMs: 0, latencyMs: 5 },
      });
      await c.start();
      nodes.push(c);
      caches.push(c);
    }
    const [a] = nodes as [SuperCache, SuperCache];
    const events: HealthAlert[] = [];
    a.on('healthAlert', (e) => events.push(e));
    net.delay(10);
    // Heartbeats measure the delay: wait (bounded) until one has.
    await vi.waitFor(
      async () => {
        const h = await a.forceCheck();
        expect(h.alerts.map((x) => x.key)).toContain('latency:b');
      },
      { timeout: 10_000, interval: 50 },
    );
    a.configureHealth({ latencyMs: 60_000 });
    const h = await a.forceCheck();
    expect(h.alerts.filter((x) => x.kind === 'latency')).toEqual([]);
    // (A partition move while b joins may raise other alerts; only latency is driven here.)
    expect(events.filter((e) => e.kind === 'latency').map((e) => [e.key, e.state])).toEqual([
      ['latency:b', 'raised'],
      ['latency:b', 'cleared'],
    ]);
    expect(events.find((e) => e.kind === 'latency')?.value).toBeGreaterThan(5);
  });

  it('reuses the cluster channels for handoff and view progress', () => {
    expect(HEALTH_CHANNELS.handoff).toBe(CHANNELS.handoff);
    expect(HEALTH_CHANNELS.view).toBe(CHANNELS.view);
    expect(HEALTH_CHANNELS.check).toBe(CHANNELS.health);
  });

  it('publishes replication progress per table at each check', async () => {
    const [a] = (await cluster(['a', 'b'])) as [SuperCache, SuperCache];
    const seen: { table: string; node: string }[] = [];
    const listener = (m: unknown) => seen.push(m as { table: string; node: string });
    diagnostics.subscribe(HEALTH_CHANNELS.replication, listener);
    try {
      await a.forceCheck();
    } finally {
      diagnostics.unsubscribe(HEALTH_CHANNELS.replication, listener);
    }
    expect(seen.map((s) => s.table).sort()).toEqual(['kv', 'main', 'sys']);
    expect(seen.every((s) => s.node === 'a')).toBe(true);
  });

  it('publishes handoff progress on the cluster channel when a node joins', async () => {
    const seen: unknown[] = [];
    const listener = (m: unknown) => seen.push(m);
    diagnostics.subscribe(HEALTH_CHANNELS.handoff, listener);
    try {
      await cluster(['a', 'b']);
    } finally {
      diagnostics.unsubscribe(HEALTH_CHANNELS.handoff, listener);
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toMatchObject({ handoff: expect.any(String), phase: expect.any(String) });
  });
});

describe('health rules (evaluateHealth)', () => {
  const base = (): HealthSnapshot => ({
    mode: 'distributed',
    node: 'a',
    nodeStatus: 'running',
    epoch: 3,
    leader: 'a',
    nodes: [
      { id: 'a', address: 'a', status: 'up', self: true, rttMs: 0, rttAvgMs: 0, lastContactMsAgo: 0 },
      { id: 'b', address: 'b', status: 'up', self: false, rttMs: 2, rttAvgMs: 2, lastContactMsAgo: 10 },
    ],
    replication: {},
    balance: {},
    handoff: { active: false, committed: 0, aborted: 0, lastDurationMs: 0, lastEntries: 0 },
    notes: [],
    totals: { ok: 0, failed: 0 },
    at: 0,
  });
  const kinds = (s: HealthSnapshot, errors = { ok: 0, failed: 0 }) =>
    evaluateHealth(s, errors, DEFAULT_HEALTH).map((c) => `${c.kind}:${c.subject}`);

  it('finds nothing in a healthy snapshot', () => {
    expect(kinds(base())).toEqual([]);
  });

  it('raises node_down for a peer that is down (and no latency alert for it)', () => {
    const s = base();
    const down = {
      ...s,
      nodes: [s.nodes[0], { ...s.nodes[1], status: 'down', rttAvgMs: 900 }],
    } as HealthSnapshot;
    expect(kinds(down)).toEqual(['node_down:b']);
  });

  it('raises latency on the smoothed round-trip above latencyMs', () => {
    const s = base();
    const slow = { ...s, nodes: [s.nodes[0], { ...s.nodes[1], rttMs: 50, rttAvgMs: 101 }] } as HealthSnapshot;
    expect(kinds(slow)).toEqual(['latency:b']);
  });

  it('raises replication_lag for a table whose backup lags more than lagMs', () => {
    const s = base();
    const r = {
      placement: 'partitions',
      factor: 2,
      copies: 2,
      replicas: 1,
      shortfall: 0,
      zeroCopy: false,
      mode: 'async',
      maxLagRecords: 12,
      maxLagMs: 501,
      outOfSync: 0,
      partitions: [{ partition: 0, backup: 'b', records: 12, ms: 501, inSync: true }],
    } as const;
    expect(kinds({ ...s, replication: { main: r } })).toEqual(['replication_lag:main']);
    expect(kinds({ ...s, replication: { main: { ...r, maxLagMs: 500 } } })).toEqual([]);
  });

  it('raises error_rate above errorRate over the window, and nothing for an empty window', () => {
    expect(kinds(base(), { ok: 94, failed: 6 })).toEqual(['error_rate:a']);
    expect(kinds(base(), { ok: 95, failed: 5 })).toEqual([]);
    expect(kinds(base(), { ok: 0, failed: 0 })).toEqual([]);
  });

  it('counts the error window from the previous check', async () => {
    let totals = { ok: 0, failed: 0 };
    const alerts: HealthAlert[] = [];
    const monitor = new HealthMonitor({
      thresholds: { ...DEFAULT_HEALTH, intervalMs: 0 },
      snapshot: () => ({ ...base(), totals }),
      onAlert: (a) => alerts.push(a),
      onCheck: () => {},
      log: new FacadeLog(undefined, {}),
    });
    monitor.start();
    totals = { ok: 90, failed: 10 };
    expect(monitor.check().errorRate).toBeCloseTo(0.1);
    // The next window has 100 successes: the rate falls and the alert clears.
    totals = { ok: 190, failed: 10 };
    expect(monitor.check().errorRate).toBe(0);
    expect(alerts.map((a) => `${a.key} ${a.state}`)).toEqual(['error_rate:a raised', 'error_rate:a cleared']);
  });
});

describe('PartitionedTable health in distributed mode (memory transport)', () => {
  it('shows the three nodes of the table and its shard balance', async () => {
    const net = new MemoryNetwork({ seed: 19 });
    for (const id of ['p1', 'p2', 'p3']) {
      const t = await PartitionedTable.start({
        name: 'health_dist',
        distributed: true,
        nodeId: id,
        partitions: 2,
        sweepIntervalMs: 0,
        peers: tables.map((x) => `${x.nodeId}=${x.nodeId}`),
        clusterProvider: clusterProvider({ transport: net.createTransport(id), ...FAST }),
        health: { intervalMs: 0 },
      });
      tables.push(t);
    }
    const h = (tables[0] as PartitionedTable).health();
    expect(h.mode).toBe('distributed');
    expect(h.nodes.map((n) => n.id).sort()).toEqual(['p1', 'p2', 'p3']);
    expect(h.balance.health_dist?.placement).toBe('shards');
    expect(h.replication.health_dist).toMatchObject({ copies: 1, zeroCopy: true });
  });
});
