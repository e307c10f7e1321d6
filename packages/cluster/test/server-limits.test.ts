import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransport } from '../src/index.js';
import {
  connectionStats,
  DEFAULT_SERVER_LIMITS,
  limitedServerFactory,
  resolveServerLimits,
} from '../src/server-limits.js';

/** Waits until `check()` holds (polled), at most `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A client that sends a request's headers one byte at a time, never finishing them. */
function slowClient(
  port: number,
  localAddress: string,
): { socket: Socket; closed: Promise<void>; stop(): void } {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const header = 'GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ';
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return;
    socket.write(i < header.length ? (header[i] as string) : 'a');
    i++;
  }, 100);
  socket.once('close', () => clearInterval(timer));
  return { socket, closed, stop: () => socket.destroy() };
}

describe('resolveServerLimits', () => {
  it('fills in the documented defaults', () => {
    expect(resolveServerLimits()).toEqual(DEFAULT_SERVER_LIMITS);
    expect(DEFAULT_SERVER_LIMITS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      idleTimeoutMs: 300_000,
      maxConnections: 1000,
      maxConnectionsPerAddress: 256,
    });
  });

  it('refuses out-of-range values and a request timeout below the header timeout', () => {
    for (const bad of [
      { headersTimeoutMs: 0 },
      { requestTimeoutMs: -1 },
      { keepAliveTimeoutMs: 1.5 },
      { maxConnections: 0 },
      { maxConnectionsPerAddress: Number.NaN },
      { idleTimeoutMs: -1 },
      { headersTimeoutMs: 5000, requestTimeoutMs: 1000 },
    ]) {
      expect(() => resolveServerLimits(bad), JSON.stringify(bad)).toThrowError(
        expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
      );
    }
    expect(
      () => new HttpTransport({ nodeId: 'a', secret: 's', serverLimits: { maxConnections: 0 } }),
    ).toThrowError(expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }));
  });
});

describe('limitedServerFactory', () => {
  let app: FastifyInstance | undefined;
  const clients: Array<{ stop(): void }> = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    await app?.close();
    app = undefined;
  });

  it('caps connections per address, serves other addresses meanwhile, and times slow clients out', async () => {
    app = Fastify({
      forceCloseConnections: true,
      serverFactory: limitedServerFactory({
        headersTimeoutMs: 600,
        requestTimeoutMs: 1200,
        maxConnectionsPerAddress: 5,
        maxConnections: 50,
      }),
    });
    app.get('/ok', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;

    // 12 slow clients from 127.0.0.2: 5 are held, 7 are closed at once.
    const slow = Array.from({ length: 12 }, () => slowClient(port, '127.0.0.2'));
    clients.push(...slow);
    const server = app.server;
    const seen = () => {
      const c = connectionStats(server);
      return c === undefined ? 0 : c.open + c.refused;
    };
    await until(() => seen() === 12 && slow.filter((s) => s.socket.destroyed).length >= 7, 3000);
    expect(connectionStats(server)).toMatchObject({ open: 5, refused: 7 });
    expect(slow.filter((s) => s.socket.destroyed).length).toBe(7);

    // A client from 127.0.0.1 is served while they are held.
    const r = await app.inject({ method: 'GET', url: '/ok' });
    expect(r.statusCode).toBe(200);
    const res = await fetch(`http://127.0.0.1:${port}/ok`);
    expect(await res.json()).toEqual({ ok: true });

    // Every slow client is closed by the server, none by itself.
    await Promise.all(slow.map((s) => s.closed));
    expect(connectionStats(app.server)?.open).toBeLessThanOrEqual(1);
  });

  it('closes connections beyond the total cap', async () => {
    app = Fastify({
      forceCloseConnections: true,
      serverFactory: limitedServerFactory({ headersTimeoutMs: 2000, maxConnections: 3 }),
    });
    app.get('/ok', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const slow = Array.from({ length: 6 }, () => slowClient(port, '127.0.0.1'));
    clients.push(...slow);
    const server = app.server;
    await until(() => slow.filter((s) => s.socket.destroyed).length >= 3, 3000);
    expect(slow.filter((s) => s.socket.destroyed).length).toBe(3);
    expect(connectionStats(server)?.refused).toBe(3);
  });
});
