import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport, supercachePeerPlugin } from '../src/index.js';
import { describeTransportCompliance, rejection } from './transport-compliance.js';

const SECRET = 'correct horse battery staple';

async function peerApp(transport: HttpTransport, onRequest?: () => void): Promise<FastifyInstance> {
  const app = Fastify({ forceCloseConnections: true });
  if (onRequest !== undefined) app.addHook('onRequest', async () => onRequest());
  await app.register(supercachePeerPlugin, { transport, secret: SECRET });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

function urlOf(app: FastifyInstance | Server): string {
  const server = 'server' in app ? app.server : app;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// The suite mounts the plugin in user-owned Fastify apps (the apps/node
// shape) so it can count the requests each server receives.
describeTransportCompliance('HttpTransport', async (size) => {
  let requests = 0;
  const transports = Array.from(
    { length: size },
    (_, i) => new HttpTransport({ nodeId: `n${i}`, secret: SECRET }),
  );
  const apps = await Promise.all(transports.map((t) => peerApp(t, () => requests++)));
  for (const t of transports) {
    for (let i = 0; i < size; i++) t.setPeerAddress(`n${i}`, urlOf(apps[i]!));
  }
  await Promise.all(transports.map((t) => t.start()));
  return {
    transports,
    requests: () => requests,
    down: async (index) => {
      await apps[index]!.close();
    },
    close: async () => {
      await Promise.all(transports.map((t) => t.stop()));
      await Promise.all(apps.map((app) => app.close()));
    },
  };
});

describe('HttpTransport', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function owned(
    nodeId: string,
    options: Partial<ConstructorParameters<typeof HttpTransport>[0]> = {},
  ) {
    const t = new HttpTransport({
      nodeId,
      secret: SECRET,
      listen: { host: '127.0.0.1', port: 0 },
      ...options,
    });
    t.handle('echo', (body) => body);
    await t.start();
    cleanup.push(() => t.stop());
    return t;
  }

  it('serves the peer routes on its own server when given listen, on the bound port', async () => {
    const a = await owned('a');
    const b = await owned('b');
    expect(b.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(b.address).not.toBe('http://127.0.0.1:0');
    a.setPeerAddress('b', b.address!);
    b.setPeerAddress('a', a.address!);
    await expect(a.call('b', 'echo', [1n, 'x'])).resolves.toEqual([1n, 'x']);
    await expect(b.call('a', 'echo', { y: -0 })).resolves.toEqual({ y: -0 });
    expect(typeof (await a.ping('b'))).toBe('number');
  });

  it('closes its server on stop, and start after stop serves again', async () => {
    const b = await owned('b');
    const address = b.address!;
    await b.stop();
    expect(b.address).toBeUndefined();
    await expect(fetch(`${address}/_supercache/v1/ping`)).rejects.toThrow();
    await b.start();
    expect(b.address).toBeDefined();
    // It really serves again: a call round-trips through the new server.
    const a = await owned('a');
    a.setPeerAddress('b', b.address!);
    await expect(a.call('b', 'echo', ['again', 2n])).resolves.toEqual(['again', 2n]);
  });

  it('fails start with SC_ERR_BAD_CONFIG when the port is taken, and can start once it is free', async () => {
    const a = await owned('a');
    const port = Number(new URL(a.address!).port);
    const b = new HttpTransport({ nodeId: 'b', secret: SECRET, listen: { host: '127.0.0.1', port } });
    expect((await rejection(b.start())).code).toBe('SC_ERR_BAD_CONFIG');
    expect(b.isRunning).toBe(false);
    await a.stop();
    await b.start();
    cleanup.push(() => b.stop());
    expect(b.address).toBe(`http://127.0.0.1:${port}`);
  });

  it('shares one start between concurrent start calls', async () => {
    const t = new HttpTransport({ nodeId: 't', secret: SECRET, listen: { host: '127.0.0.1', port: 0 } });
    cleanup.push(() => t.stop());
    await Promise.all([t.start(), t.start(), t.start()]);
    const address = t.address;
    await t.start();
    expect(t.address).toBe(address);
  });

  it('sends to the new address after setPeerAddress changes it', async () => {
    const first = await owned('first');
    const second = await owned('second');
    first.handle('where', () => 'first');
    second.handle('where', () => 'second');
    const a = await owned('a', { peers: { b: first.address! } });
    await expect(a.call('b', 'where', null)).resolves.toBe('first');
    a.setPeerAddress('b', second.address!);
    await expect(a.call('b', 'where', null)).resolves.toBe('second');
  });

  it('accepts a call without a timeout (timeoutMs: Infinity)', async () => {
    const b = await owned('b');
    const a = await owned('a', { peers: { b: b.address! } });
    await expect(a.call('b', 'echo', 'patient', { timeoutMs: Number.POSITIVE_INFINITY })).resolves.toBe(
      'patient',
    );
  });

  it('takes peer addresses from the peers option', async () => {
    const b = await owned('b');
    const a = await owned('a', { peers: { b: b.address! } });
    await expect(a.call('b', 'echo', 7)).resolves.toBe(7);
  });

  it('fails with SC_ERR_UNAUTHORIZED when the secrets differ, without retrying', async () => {
    const b = await owned('b');
    const a = await owned('a', { secret: 'another secret', peers: { b: b.address! } });
    const error = await rejection(a.call('b', 'echo', 1, { idempotent: true }));
    expect(error.code).toBe('SC_ERR_UNAUTHORIZED');
    expect(a.stats().retries).toBe(0);
    expect((await rejection(a.ping('b'))).code).toBe('SC_ERR_UNAUTHORIZED');
  });

  it('fails with SC_ERR_PEER_UNAVAILABLE on a refused connection, retrying idempotent calls twice', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadAddress = urlOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const a = await owned('a', { peers: { dead: deadAddress }, retryDelayMs: 5 });
    const plain = await rejection(a.call('dead', 'echo', 1));
    expect(plain.code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(plain.retryable).toBe(true);
    expect(a.stats().retries).toBe(0);
    const idempotent = await rejection(a.call('dead', 'echo', 1, { idempotent: true }));
    expect(idempotent.code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(a.stats().retries).toBe(2);
    expect((await rejection(a.ping('dead'))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
  });

  it('fails with SC_ERR_PEER_UNAVAILABLE for a peer without an address', async () => {
    const a = await owned('a');
    const error = await rejection(a.call('stranger', 'echo', 1, { idempotent: true }));
    expect(error.code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(a.stats().retries).toBe(0);
  });

  describe('against a server that drops the first connection', () => {
    async function flaky(): Promise<{ address: string; attempts: () => number; handled: () => number }> {
      let attempts = 0;
      let handled = 0;
      const target = new HttpTransport({ nodeId: 'flaky', secret: SECRET });
      target.handle('echo', (body) => {
        handled++;
        return body;
      });
      await target.start();
      const app = Fastify({
        forceCloseConnections: true,
        serverFactory: (handler) =>
          createServer((req, res) => {
            if (attempts++ === 0) {
              req.socket.destroy();
              return;
            }
            handler(req, res);
          }),
      });
      await app.register(supercachePeerPlugin, { transport: target, secret: SECRET });
      await app.listen({ host: '127.0.0.1', port: 0 });
      cleanup.push(
        () => app.close(),
        () => target.stop(),
      );
      return { address: urlOf(app), attempts: () => attempts, handled: () => handled };
    }

    it('retries an idempotent call and succeeds', async () => {
      const server = await flaky();
      const a = await owned('a', { peers: { flaky: server.address }, retryDelayMs: 5 });
      await expect(a.call('flaky', 'echo', 'again', { idempotent: true })).resolves.toBe('again');
      expect(server.attempts()).toBe(2);
      expect(server.handled()).toBe(1);
      expect(a.stats().retries).toBe(1);
    });

    it('does not retry a call that is not idempotent', async () => {
      const server = await flaky();
      const a = await owned('a', { peers: { flaky: server.address }, retryDelayMs: 5 });
      const error = await rejection(a.call('flaky', 'echo', 'once'));
      expect(error.code).toBe('SC_ERR_PEER_UNAVAILABLE');
      expect(server.attempts()).toBe(1);
      expect(server.handled()).toBe(0);
      expect(a.stats().retries).toBe(0);
    });

    it('retries only the idempotent calls of a failed batch', async () => {
      const server = await flaky();
      const a = await owned('a', { peers: { flaky: server.address }, retryDelayMs: 5 });
      const [once, again] = await Promise.allSettled([
        a.call('flaky', 'echo', 'once'),
        a.call('flaky', 'echo', 'again', { idempotent: true }),
      ]);
      expect(once.status === 'rejected' && once.reason.code).toBe('SC_ERR_PEER_UNAVAILABLE');
      expect(again).toEqual({ status: 'fulfilled', value: 'again' });
      expect(server.handled()).toBe(1);
    });
  });

  it('maps a non-MessagePack 503 from an intermediary to SC_ERR_PEER_UNAVAILABLE', async () => {
    const proxy = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => proxy.close(resolve)));
    const a = await owned('a', { peers: { b: urlOf(proxy) } });
    const error = await rejection(a.call('b', 'echo', 1));
    expect(error.code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(error.details).toMatchObject({ status: 503 });
  });

  it('splits a tick of calls by maxBatchBytes', async () => {
    const b = await owned('b');
    let sent = 0;
    const a = await owned('a', { peers: { b: b.address! }, maxBatchBytes: 1000 });
    const body = 'x'.repeat(600);
    const results = await Promise.all([1, 2, 3].map(() => a.call('b', 'echo', body)));
    expect(results).toEqual([body, body, body]);
    sent = a.stats().requests;
    expect(sent).toBe(3);
    expect(a.stats().batches).toBe(0);
  });

  it("sends a call marked alone in a request of its own, never in the tick's batch", async () => {
    const b = await owned('b');
    const a = await owned('a', { peers: { b: b.address! } });
    const results = await Promise.all([
      a.call('b', 'echo', 1),
      a.call('b', 'echo', 2, { alone: true }),
      a.call('b', 'echo', 3),
    ]);
    expect(results).toEqual([1, 2, 3]);
    // One batch with calls 1 and 3, one single request with call 2.
    expect(a.stats().requests).toBe(2);
    expect(a.stats().batches).toBe(1);
  });

  describe('request window', () => {
    /** A peer whose 'slow' calls answer only when released. */
    async function slowPeer() {
      const b = await owned('b');
      const waiting: Array<() => void> = [];
      b.handle('slow', () => new Promise<string>((done) => waiting.push(() => done('slow done'))));
      return {
        b,
        release: () => {
          for (const f of waiting.splice(0)) f();
        },
        waiting: () => waiting.length,
      };
    }
    const tick = () => new Promise((r) => setImmediate(r));

    it('holds calls while the window is full and sends them in one request when an answer frees it', async () => {
      const { b, release, waiting } = await slowPeer();
      const a = await owned('a', { peers: { b: b.address! }, requestWindow: 1, batchHoldMs: 60_000 });
      const slow = a.call('b', 'slow', null);
      while (waiting() === 0) await tick();
      // Three calls in three different turns: all wait behind the slow one.
      const echoes: Promise<unknown>[] = [];
      for (const n of [1, 2, 3]) {
        echoes.push(a.call('b', 'echo', n));
        await tick();
      }
      await new Promise((r) => setTimeout(r, 30));
      expect(a.stats().requests).toBe(1);
      release();
      expect(await slow).toBe('slow done');
      expect(await Promise.all(echoes)).toEqual([1, 2, 3]);
      expect(a.stats().requests).toBe(2);
      expect(a.stats().batches).toBe(1);
    });

    it('sends held calls anyway after batchHoldMs, so a slow request does not stall them', async () => {
      const { b, release } = await slowPeer();
      const a = await owned('a', { peers: { b: b.address! }, requestWindow: 1, batchHoldMs: 20 });
      const slow = a.call('b', 'slow', null);
      await tick();
      await expect(a.call('b', 'echo', 'through')).resolves.toBe('through');
      expect(a.stats().requests).toBe(2);
      release();
      await slow;
    });

    it('never holds a call sent alone', async () => {
      const { b, release, waiting } = await slowPeer();
      const a = await owned('a', { peers: { b: b.address! }, requestWindow: 1, batchHoldMs: 60_000 });
      const slow = a.call('b', 'slow', null);
      while (waiting() === 0) await tick();
      const held = a.call('b', 'echo', 'held');
      await expect(a.call('b', 'echo', 'alone', { alone: true })).resolves.toBe('alone');
      expect(a.stats().requests).toBe(2);
      release();
      await expect(held).resolves.toBe('held');
      await slow;
    });

    it('sends to an idle peer at once, and refuses a bad window or hold time', async () => {
      const b = await owned('b');
      const a = await owned('a', { peers: { b: b.address! }, requestWindow: 1, batchHoldMs: 60_000 });
      for (let i = 0; i < 5; i++) await expect(a.call('b', 'echo', i)).resolves.toBe(i);
      expect(a.stats().requests).toBe(5);
      for (const bad of [
        { requestWindow: 0 },
        { requestWindow: 1.5 },
        { batchHoldMs: -1 },
        { batchHoldMs: Number.NaN },
      ]) {
        expect(() => new HttpTransport({ nodeId: 'x', secret: SECRET, ...bad })).toThrow(
          expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
        );
      }
    });
  });

  it('fails with SC_ERR_PAYLOAD_TOO_LARGE when a body exceeds the peer bodyLimit', async () => {
    const b = await owned('b', { bodyLimit: 4096 });
    const a = await owned('a', { peers: { b: b.address! } });
    const error = await rejection(a.call('b', 'echo', new Uint8Array(10_000)));
    expect(error.code).toBe('SC_ERR_PAYLOAD_TOO_LARGE');
    await expect(a.call('b', 'echo', new Uint8Array(100))).resolves.toHaveLength(100);
  });

  it('refuses a bad configuration and a bad peer address', () => {
    expect(() => new HttpTransport({ nodeId: 'a', secret: '' })).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new HttpTransport({ nodeId: '', secret: SECRET })).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new HttpTransport({ nodeId: 'a', secret: SECRET, connections: 0 })).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    const t = new HttpTransport({ nodeId: 'a', secret: SECRET });
    expect(() => t.setPeerAddress('b', 'not a url')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    expect(() => t.setPeerAddress('b', 'ftp://127.0.0.1:21')).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
  });
});
