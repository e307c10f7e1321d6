import type { SuperCacheError } from '@supercache/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryNetwork, type MemoryTransport } from '../src/index.js';
import { describeTransportCompliance, gate, rejection } from './transport-compliance.js';

describeTransportCompliance('MemoryTransport', async (size) => {
  const network = new MemoryNetwork({ seed: 42 });
  const transports = Array.from({ length: size }, (_, i) => network.createTransport(`n${i}`));
  await Promise.all(transports.map((t) => t.start()));
  return {
    transports,
    requests: () => network.stats().requests,
    down: async (index) => network.kill(`n${index}`),
    close: async () => {
      await Promise.all(transports.map((t) => t.stop()));
    },
  };
});

async function cluster(
  ids: string[],
  seed = 1,
  options: { timeoutMs?: number; retries?: number } = {},
): Promise<{ network: MemoryNetwork; nodes: Record<string, MemoryTransport> }> {
  const network = new MemoryNetwork({ seed });
  const nodes: Record<string, MemoryTransport> = {};
  for (const id of ids) {
    const t = network.createTransport(id, {
      timeoutMs: options.timeoutMs ?? 2000,
      retries: options.retries ?? 0,
    });
    t.handle('echo', (body) => body);
    t.handle('id', () => id);
    nodes[id] = t;
    await t.start();
  }
  return { network, nodes };
}

const code = (s: PromiseSettledResult<unknown>): unknown =>
  s.status === 'fulfilled' ? s.value : (s.reason as SuperCacheError).code;

describe('MemoryNetwork', () => {
  const open: MemoryTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.stop()));
  });

  it('lets a restarted node take the id of a stopped transport, alive again', async () => {
    const network = new MemoryNetwork();
    const a = network.createTransport('a');
    const b = network.createTransport('b');
    open.push(b);
    b.handle('echo', (body) => body);
    await a.start();
    await b.start();
    network.kill('a');
    await a.stop();
    const again = network.createTransport('a');
    open.push(again);
    await again.start();
    expect(await again.call('b', 'echo', { x: 1 })).toEqual({ x: 1 });
    expect(network.isKilled('a')).toBe(false);
  });

  it('refuses a second transport with the same node id', () => {
    const network = new MemoryNetwork();
    network.createTransport('a');
    expect(() => network.createTransport('a')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_NAME_TAKEN' }),
    );
  });

  it('counts a batch as one request message and its calls separately', async () => {
    const { network, nodes } = await cluster(['a', 'b']);
    open.push(...Object.values(nodes));
    await Promise.all([1, 2, 3].map((n) => nodes.a!.call('b', 'echo', n)));
    await nodes.a!.call('b', 'echo', 4);
    expect(network.stats()).toMatchObject({ requests: 2, calls: 4, responses: 2, dropped: 0 });
    expect(nodes.a!.stats()).toMatchObject({ calls: 4, requests: 2, batches: 1, failures: 0 });
  });

  it('drops the next `count` matching messages, which then time out', async () => {
    const { network, nodes } = await cluster(['a', 'b', 'c']);
    open.push(...Object.values(nodes));
    network.drop({ from: 'a', to: 'b', count: 2 });
    const first = await rejection(nodes.a!.call('b', 'echo', 1, { timeoutMs: 40 }));
    expect(first.code).toBe('SC_ERR_TIMEOUT');
    expect((await rejection(nodes.a!.call('b', 'echo', 2, { timeoutMs: 40 }))).code).toBe('SC_ERR_TIMEOUT');
    await expect(nodes.a!.call('b', 'echo', 3)).resolves.toBe(3);
    await expect(nodes.a!.call('c', 'echo', 4)).resolves.toBe(4);
    expect(network.stats().dropped).toBe(2);
  });

  it('drops a response too: the handler runs but the caller times out', async () => {
    const { network, nodes } = await cluster(['a', 'b']);
    open.push(...Object.values(nodes));
    let ran = 0;
    nodes.b!.handle('count', () => ++ran);
    network.drop({ from: 'b', to: 'a', count: 1 });
    expect((await rejection(nodes.a!.call('b', 'count', null, { timeoutMs: 40 }))).code).toBe(
      'SC_ERR_TIMEOUT',
    );
    expect(ran).toBe(1);
    await expect(nodes.a!.call('b', 'count', null)).resolves.toBe(2);
  });

  it('drops by probability deterministically for a given seed', async () => {
    // Fake timers: a lost message times out when the test says so, never
    // because the machine was slow.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const run = async (seed: number): Promise<unknown[]> => {
      const { network, nodes } = await cluster(['a', 'b'], seed, { timeoutMs: 1000 });
      network.drop({ probability: 0.5 });
      const out: unknown[] = [];
      for (let i = 0; i < 16; i++) {
        const settled = Promise.allSettled([nodes.a!.call('b', 'echo', i)]);
        await vi.advanceTimersByTimeAsync(1000);
        out.push(code((await settled)[0]!));
      }
      await Promise.all(Object.values(nodes).map((t) => t.stop()));
      return out;
    };
    try {
      const first = await run(7);
      expect(await run(7)).toEqual(first);
      expect(first).toContain('SC_ERR_TIMEOUT');
      expect(first.some((v) => typeof v === 'number')).toBe(true);
      expect(await run(8)).not.toEqual(first);
    } finally {
      vi.useRealTimers();
    }
  });

  it('delays every message by a fixed or per-link number of milliseconds', async () => {
    const { network, nodes } = await cluster(['a', 'b', 'c'], 1, { timeoutMs: 1000 });
    open.push(...Object.values(nodes));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const settledAfter = async (to: string, steps: number[]): Promise<boolean[]> => {
        let done = false;
        const pending = nodes.a!.call(to, 'echo', 1).then(() => {
          done = true;
        });
        const seen: boolean[] = [];
        for (const ms of steps) {
          await vi.advanceTimersByTimeAsync(ms);
          seen.push(done);
        }
        await pending;
        return seen;
      };
      network.delay(30);
      // 30 ms out, 30 ms back.
      expect(await settledAfter('b', [29, 30, 1])).toEqual([false, false, true]);
      network.delay((from, to) => (from === 'a' && to === 'c' ? 40 : 0));
      expect(await settledAfter('b', [0])).toEqual([true]);
      expect(await settledAfter('c', [39, 1])).toEqual([false, true]);
      network.delay(0);
      expect(await settledAfter('c', [0])).toEqual([true]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('times out a call whose round trip is delayed past timeoutMs', async () => {
    const { network, nodes } = await cluster(['a', 'b'], 1, { timeoutMs: 1000 });
    open.push(...Object.values(nodes));
    network.delay(50);
    expect((await rejection(nodes.a!.call('b', 'echo', 1, { timeoutMs: 30 }))).code).toBe('SC_ERR_TIMEOUT');
  });

  it('fails calls across a partition at once, both ways, and heals', async () => {
    const { network, nodes } = await cluster(['a', 'b', 'c', 'd']);
    open.push(...Object.values(nodes));
    network.partition(['a', 'b'], ['c', 'd']);
    const settled = await Promise.allSettled([
      nodes.a!.call('c', 'id', null),
      nodes.d!.call('b', 'id', null),
      nodes.a!.call('b', 'id', null),
      nodes.c!.call('d', 'id', null),
    ]);
    expect(settled.map(code)).toEqual(['SC_ERR_PEER_UNAVAILABLE', 'SC_ERR_PEER_UNAVAILABLE', 'b', 'd']);
    network.heal();
    await expect(nodes.a!.call('c', 'id', null)).resolves.toBe('c');
  });

  it('fails the answer of a call when a partition starts while the handler runs', async () => {
    const { network, nodes } = await cluster(['a', 'b']);
    open.push(...Object.values(nodes));
    const g = gate();
    nodes.b!.handle('slow', async () => {
      await g.wait;
      return 'done';
    });
    const pending = nodes.a!.call('b', 'slow', null, { timeoutMs: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    network.partition(['a'], ['b']);
    g.open();
    expect((await rejection(pending)).code).toBe('SC_ERR_PEER_UNAVAILABLE');
  });

  it('kills a node: calls to it fail at once, calls in flight fail, and revive brings it back', async () => {
    const { network, nodes } = await cluster(['a', 'b', 'c']);
    open.push(...Object.values(nodes));
    const g = gate();
    nodes.b!.handle('slow', async () => {
      await g.wait;
      return 'done';
    });
    const inflight = nodes.a!.call('b', 'slow', null, { timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    network.kill('b');
    expect(network.isKilled('b')).toBe(true);
    expect((await rejection(inflight)).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect((await rejection(nodes.a!.call('b', 'id', null))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect((await rejection(nodes.b!.call('c', 'id', null))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    await expect(nodes.a!.call('c', 'id', null)).resolves.toBe('c');
    network.revive('b');
    g.open();
    await expect(nodes.a!.call('b', 'id', null)).resolves.toBe('b');
    await expect(nodes.b!.call('c', 'id', null)).resolves.toBe('c');
  });

  it('retries idempotent calls across a short partition when retries are enabled', async () => {
    const { network, nodes } = await cluster(['a', 'b'], 1, { timeoutMs: 1000, retries: 2 });
    open.push(...Object.values(nodes));
    network.partition(['a'], ['b']);
    const idempotent = nodes.a!.call('b', 'id', null, { idempotent: true });
    const plain = rejection(nodes.a!.call('b', 'id', null));
    setTimeout(() => network.heal(), 10);
    await expect(idempotent).resolves.toBe('b');
    expect((await plain).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(nodes.a!.stats().retries).toBeGreaterThanOrEqual(1);
  });

  it('fails calls to a transport that is not started', async () => {
    const network = new MemoryNetwork();
    const a = network.createTransport('a');
    const b = network.createTransport('b');
    open.push(a, b);
    b.handle('id', () => 'b');
    expect((await rejection(a.call('b', 'id', null))).code).toBe('SC_ERR_NOT_STARTED');
    await a.start();
    expect((await rejection(a.call('b', 'id', null))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    await b.start();
    await expect(a.call('b', 'id', null)).resolves.toBe('b');
  });

  it('validates its fault arguments', () => {
    const network = new MemoryNetwork();
    expect(() => network.drop({ probability: 2 })).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    expect(() => network.drop({ count: -1 })).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
    expect(() => network.delay(-5)).toThrow(expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }));
  });
});
