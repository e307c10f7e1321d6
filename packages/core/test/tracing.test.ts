import diagnostics from 'node:diagnostics_channel';
import { MemoryNetwork } from '@supercache/cluster';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterProvider } from '../src/cluster.js';
import { HEALTH_CHANNELS, type OperationContext, PartitionedTable, SuperCache } from '../src/index.js';

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error';

interface Seen {
  readonly phase: Phase;
  readonly ctx: OperationContext;
}

let caches: SuperCache[] = [];
let tables: PartitionedTable[] = [];

afterEach(async () => {
  for (const t of tables) await t.stop().catch(() => {});
  for (const c of [...caches].reverse()) await c.stop().catch(() => {});
  caches = [];
  tables = [];
});

/** Subscribes to every phase of the operation tracing channel while `run` runs. */
async function traced(run: () => Promise<void>): Promise<Seen[]> {
  const channel = diagnostics.tracingChannel<unknown, OperationContext>(HEALTH_CHANNELS.operation);
  const seen: Seen[] = [];
  const on = (phase: Phase) => (ctx: OperationContext) => seen.push({ phase, ctx });
  const handlers = {
    start: on('start'),
    end: on('end'),
    asyncStart: on('asyncStart'),
    asyncEnd: on('asyncEnd'),
    error: on('error'),
  };
  channel.subscribe(handlers);
  try {
    await run();
  } finally {
    channel.unsubscribe(handlers);
  }
  return seen;
}

describe('operation tracing (tracingChannel supercache:operation)', () => {
  it('traces a SuperCache put and get with table, command and node, start to end', async () => {
    const cache = new SuperCache({ numPartition: 2, nodeId: 'n-local' });
    await cache.start();
    caches.push(cache);
    const seen = await traced(async () => {
      await cache.put(['k', 1]);
      expect(await cache.get(['k'])).toEqual([['k', 1]]);
    });
    const starts = seen.filter((s) => s.phase === 'start');
    expect(starts.map((s) => [s.ctx.command, s.ctx.kind])).toEqual([
      ['insert', 'exec'],
      ['lookup', 'exec'],
    ]);
    for (const s of starts) expect(s.ctx).toMatchObject({ table: 'main', node: 'n-local' });
    // Every started operation ends, with the same context object.
    for (const s of starts) {
      expect(seen.some((o) => o.phase === 'asyncEnd' && o.ctx === s.ctx)).toBe(true);
      expect(seen.some((o) => o.phase === 'error' && o.ctx === s.ctx)).toBe(false);
    }
    // The read's result reaches the subscriber.
    const read = starts.at(-1)?.ctx;
    expect(read?.result).toBeDefined();
  });

  it('names the kv table for key-value operations', async () => {
    const cache = new SuperCache({ numPartition: 2 });
    await cache.start();
    caches.push(cache);
    const seen = await traced(async () => {
      await cache.keyValue('sessions').add('u1', 'Alice');
    });
    const start = seen.find((s) => s.phase === 'start');
    expect(start?.ctx).toMatchObject({ table: 'kv', node: 'local' });
  });

  it('publishes error with the failure, and no result, when an operation fails', async () => {
    const t = await PartitionedTable.start({ name: 'trace_err', partitions: 2, sweepIntervalMs: 0 });
    tables.push(t);
    await t.insert(['word', 'not a number']);
    let thrown: unknown;
    const seen = await traced(async () => {
      thrown = await t.updateCounter('word', 1).catch((e: unknown) => e);
    });
    expect(thrown).toMatchObject({ code: expect.stringMatching(/^SC_ERR_/) });
    const error = seen.find((s) => s.phase === 'error');
    expect(error?.ctx).toMatchObject({ table: 'trace_err', node: t.nodeId });
    expect(error?.ctx.error).toBe(thrown);
    expect(seen.some((s) => s.phase === 'start' && s.ctx === error?.ctx)).toBe(true);
    expect(seen.some((s) => s.phase === 'asyncEnd' && s.ctx === error?.ctx)).toBe(true);
  });

  it('publishes nothing and costs no context while nobody subscribes', async () => {
    const t = await PartitionedTable.start({ name: 'trace_off', partitions: 2, sweepIntervalMs: 0 });
    tables.push(t);
    const channel = diagnostics.tracingChannel(HEALTH_CHANNELS.operation);
    expect(channel.hasSubscribers).toBe(false);
    const seen = await traced(async () => {});
    await t.insert(['a', 1]);
    expect(seen).toEqual([]);
  });

  it('names the table and node of a distributed operation', async () => {
    const net = new MemoryNetwork({ seed: 17 });
    const t = await PartitionedTable.start({
      name: 'trace_dist',
      distributed: true,
      nodeId: 'd1',
      partitions: 2,
      sweepIntervalMs: 0,
      clusterProvider: clusterProvider({ transport: net.createTransport('d1'), heartbeatMs: 50 }),
    });
    tables.push(t);
    const seen = await traced(async () => {
      await t.insert(['x', 1]);
      await t.size();
    });
    const starts = seen.filter((s) => s.phase === 'start').map((s) => s.ctx);
    expect(starts.map((c) => c.command)).toContain('insert');
    expect(starts.length).toBeGreaterThanOrEqual(2);
    for (const c of starts) expect(c).toMatchObject({ table: 'trace_dist', node: 'd1' });
  });
});
