/**
 * The Transport compliance suite, written once and run against every
 * implementation (MemoryTransport, HttpTransport).
 */

import type { Transport } from '@supercache/router';
import { _, $, $_, $$, SuperCacheError } from '@supercache/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** N connected, started transports, plus what the suite needs to observe them. */
export interface ComplianceCluster {
  readonly transports: readonly Transport[];
  /** Requests (HTTP requests, memory messages) received by any node so far. */
  requests(): number;
  /** Makes node `index` unreachable (killed / server closed). */
  down(index: number): Promise<void>;
  /** Tears everything down. */
  close(): Promise<void>;
}

/** Builds a cluster of `size` nodes named `n0`, `n1`, … */
export type ClusterFactory = (size: number) => Promise<ComplianceCluster>;

/** Resolves when `promise` rejects; returns the rejection. */
export async function rejection(promise: Promise<unknown>): Promise<SuperCacheError> {
  try {
    await promise;
  } catch (error) {
    expect(SuperCacheError.is(error)).toBe(true);
    return error as SuperCacheError;
  }
  throw new Error('expected a rejection');
}

/** A promise that resolves when `open()` is called, for handlers that must hang. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

export function describeTransportCompliance(name: string, factory: ClusterFactory): void {
  describe(`Transport compliance: ${name}`, () => {
    let cluster: ComplianceCluster;
    let a: Transport;
    let b: Transport;
    // Hanging handlers wait on this; opening it also releases handlers that
    // start later (a request still on its way when a test opens it).
    let release = gate();

    beforeEach(async () => {
      cluster = await factory(3);
      [a, b] = cluster.transports as [Transport, Transport];
      b.handle('echo', (body) => body);
      b.handle('whoami', (_body, ctx) => ctx.from);
      b.handle('fail', (body) => {
        const { code, retryable } = body as { code: 'SC_ERR_NOT_FOUND'; retryable: boolean };
        throw new SuperCacheError(code, `failed on purpose: ${code}`, {
          retryable,
          details: { key: 'k1', n: 2n },
        });
      });
      b.handle('crash', () => {
        throw new TypeError('boom');
      });
      release = gate();
      b.handle('hang', async () => {
        await release.wait;
        return 'late';
      });
      b.handle('bad-result', () => () => 1);
      b.handle('bad-details', () => {
        throw new SuperCacheError('SC_ERR_NOT_OWNER', 'not mine', { details: { callback: () => 1 } });
      });
    });

    afterEach(async () => {
      release.open();
      await cluster.close();
    });

    it('returns the handler result to the caller', async () => {
      await expect(a.call('n1', 'echo', { hello: 'world' })).resolves.toEqual({ hello: 'world' });
    });

    it('tells the handler who called', async () => {
      await expect(a.call('n1', 'whoami', null)).resolves.toBe('n0');
    });

    it('round-trips bigints, numbers, bytes, markers, NaN and -0 exactly', async () => {
      const body = {
        one: 1,
        oneN: 1n,
        big: 2n ** 100n,
        negBig: -(2n ** 70n),
        int64: -(2n ** 63n),
        large: 2 ** 53 + 2,
        negZero: -0,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        ninf: Number.NEGATIVE_INFINITY,
        bytes: new Uint8Array([0, 1, 255]),
        buffer: Buffer.from([7, 8]),
        nested: { list: [null, true, 'ü€😀', [1.5, { deep: [] }]], empty: {} },
        markers: [_, $(1), $(2), $(300), $_, $$],
      };
      const got = (await a.call('n1', 'echo', body)) as typeof body;
      expect(got.one).toBe(1);
      expect(got.oneN).toBe(1n);
      expect(got.big).toBe(2n ** 100n);
      expect(got.negBig).toBe(-(2n ** 70n));
      expect(got.int64).toBe(-(2n ** 63n));
      expect(got.large).toBe(2 ** 53 + 2);
      expect(Object.is(got.negZero, -0)).toBe(true);
      expect(got.nan).toBeNaN();
      expect(got.inf).toBe(Number.POSITIVE_INFINITY);
      expect(got.ninf).toBe(Number.NEGATIVE_INFINITY);
      expect(got.bytes.constructor).toBe(Uint8Array);
      expect([...got.bytes]).toEqual([0, 1, 255]);
      expect(got.buffer.constructor).toBe(Uint8Array);
      expect(got.nested).toEqual(body.nested);
      expect(got.markers[0]).toBe(_);
      expect(got.markers[1]).toBe($(1));
      expect(got.markers[2]).toBe($(2));
      expect(got.markers[3]).toBe($(300));
      expect(got.markers[4]).toBe($_);
      expect(got.markers[5]).toBe($$);
    });

    it('rebuilds a handler SuperCacheError with code, message, retryable and details', async () => {
      const error = await rejection(a.call('n1', 'fail', { code: 'SC_ERR_NOT_FOUND', retryable: true }));
      expect(error).toBeInstanceOf(SuperCacheError);
      expect(error.code).toBe('SC_ERR_NOT_FOUND');
      expect(error.message).toBe('failed on purpose: SC_ERR_NOT_FOUND');
      expect(error.retryable).toBe(true);
      expect(error.details).toEqual({ key: 'k1', n: 2n });
    });

    it('reports a handler that throws something else as SC_ERR_INTERNAL', async () => {
      const error = await rejection(a.call('n1', 'crash', null));
      expect(error.code).toBe('SC_ERR_INTERNAL');
      expect(error.message).toBe('boom');
    });

    it('fails an unknown method with SC_ERR_UNKNOWN_METHOD, alone or in a batch', async () => {
      expect((await rejection(a.call('n1', 'nope', null))).code).toBe('SC_ERR_UNKNOWN_METHOD');
      const [ok, bad] = await Promise.allSettled([a.call('n1', 'echo', 1), a.call('n1', 'nope', 2)]);
      expect(ok).toEqual({ status: 'fulfilled', value: 1 });
      expect(bad.status === 'rejected' && (bad.reason as SuperCacheError).code).toBe('SC_ERR_UNKNOWN_METHOD');
    });

    it('sends the calls made in one tick to one peer as one request', async () => {
      const before = cluster.requests();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => a.call('n1', 'echo', i)));
      expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(cluster.requests() - before).toBe(1);
    });

    it('sends one request per peer when a tick calls several peers', async () => {
      const c = cluster.transports[2]!;
      c.handle('echo', (body) => ['c', body]);
      const before = cluster.requests();
      const results = await Promise.all([
        a.call('n1', 'echo', 1),
        a.call('n2', 'echo', 2),
        a.call('n1', 'echo', 3),
        a.call('n2', 'echo', 4),
      ]);
      expect(results).toEqual([1, ['c', 2], 3, ['c', 4]]);
      expect(cluster.requests() - before).toBe(2);
    });

    it('splits a tick of calls larger than the batch limit (256)', async () => {
      const before = cluster.requests();
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => a.call('n1', 'echo', i)));
      expect(results[299]).toBe(299);
      expect(cluster.requests() - before).toBe(2);
    });

    it('fails only the failing call of a batch', async () => {
      const settled = await Promise.allSettled([
        a.call('n1', 'echo', 'x'),
        a.call('n1', 'fail', { code: 'SC_ERR_NOT_FOUND', retryable: false }),
        a.call('n1', 'crash', null),
        a.call('n1', 'echo', 'y'),
      ]);
      expect(
        settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as SuperCacheError).code)),
      ).toEqual(['x', 'SC_ERR_NOT_FOUND', 'SC_ERR_INTERNAL', 'y']);
    });

    it('fails a call that outlives timeoutMs with retryable SC_ERR_TIMEOUT', async () => {
      const started = performance.now();
      const error = await rejection(a.call('n1', 'hang', null, { timeoutMs: 60 }));
      expect(error.code).toBe('SC_ERR_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    });

    it('times out one call of a batch without failing the others', async () => {
      // A batch is answered when its slowest call finishes; the others wait
      // for it but keep their own results.
      const slow = rejection(a.call('n1', 'hang', null, { timeoutMs: 60 }));
      const fast = a.call('n1', 'echo', 'fast', { timeoutMs: 5000 });
      expect((await slow).code).toBe('SC_ERR_TIMEOUT');
      release.open();
      await expect(fast).resolves.toBe('fast');
    });

    it('aborts a call in flight with SC_ERR_ABORTED', async () => {
      const controller = new AbortController();
      const pending = a.call('n1', 'hang', null, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user gave up')), 20);
      const error = await rejection(pending);
      expect(error.code).toBe('SC_ERR_ABORTED');
      expect(error.retryable).toBe(false);
    });

    it('rejects a call with an already aborted signal without sending it', async () => {
      const before = cluster.requests();
      const error = await rejection(a.call('n1', 'echo', 1, { signal: AbortSignal.abort() }));
      expect(error.code).toBe('SC_ERR_ABORTED');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(cluster.requests()).toBe(before);
    });

    it('rejects a body that cannot travel with SC_ERR_INVALID_TERM, sending nothing', async () => {
      const before = cluster.requests();
      const error = await rejection(a.call('n1', 'echo', { list: [1, () => 2] }));
      expect(error.code).toBe('SC_ERR_INVALID_TERM');
      expect(error.message).toContain('body.list[1]');
      await expect(a.call('n1', 'echo', new Map())).rejects.toMatchObject({ code: 'SC_ERR_INVALID_TERM' });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(cluster.requests()).toBe(before);
    });

    it('keeps the code of a handler error whose details cannot travel, alone or in a batch', async () => {
      const single = await rejection(a.call('n1', 'bad-details', null));
      const [batched, ok] = await Promise.allSettled([
        a.call('n1', 'bad-details', null),
        a.call('n1', 'echo', 1),
      ]);
      expect(ok).toEqual({ status: 'fulfilled', value: 1 });
      for (const error of [single, (batched as PromiseRejectedResult).reason as SuperCacheError]) {
        expect(error.code).toBe('SC_ERR_NOT_OWNER');
        expect(error.message).toContain('not mine');
        expect(error.details).toBeUndefined();
      }
    });

    it('reports a handler result that cannot travel as SC_ERR_INTERNAL', async () => {
      expect((await rejection(a.call('n1', 'bad-result', null))).code).toBe('SC_ERR_INTERNAL');
    });

    it('fails calls to a peer that is down with retryable SC_ERR_PEER_UNAVAILABLE', async () => {
      await expect(a.call('n1', 'echo', 1)).resolves.toBe(1);
      await cluster.down(1);
      const error = await rejection(a.call('n1', 'echo', 1, { timeoutMs: 2000 }));
      expect(error.code).toBe('SC_ERR_PEER_UNAVAILABLE');
      expect(error.retryable).toBe(true);
    });

    it('fails calls to an unknown peer with SC_ERR_PEER_UNAVAILABLE', async () => {
      expect((await rejection(a.call('nobody', 'echo', 1))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    });

    it('replaces a handler registered twice', async () => {
      b.handle('echo', () => 'replaced');
      await expect(a.call('n1', 'echo', 1)).resolves.toBe('replaced');
    });

    it('starts and stops idempotently and refuses calls once stopped', async () => {
      await a.start();
      await a.start();
      await expect(a.call('n1', 'echo', 1)).resolves.toBe(1);
      await Promise.all([a.stop(), a.stop()]);
      await a.stop();
      expect((await rejection(a.call('n1', 'echo', 1))).code).toBe('SC_ERR_NOT_STARTED');
    });

    it('rejects calls still pending at stop with SC_ERR_STOPPED', async () => {
      const pending = rejection(a.call('n1', 'hang', null));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await a.stop();
      expect((await pending).code).toBe('SC_ERR_STOPPED');
    });
  });
}
