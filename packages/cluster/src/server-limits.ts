/**
 * Bounds of an HTTP server that faces the network: how long a client may
 * take to send its headers and its request, how long an idle keep-alive
 * connection is kept, and how many connections are held at once, in all
 * and from one remote address. Without them a client that trickles a byte
 * every few seconds holds a connection (and a file descriptor) forever, and
 * enough of them stop every peer from connecting.
 *
 * {@link limitedServerFactory} builds the Node `http.Server` for Fastify's
 * `serverFactory` option; the peer transport's own server and the node's
 * server both use it.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { SuperCacheError } from '@supercache/storage';
import { type ResolvedTls, tlsServerOptions } from './tls.js';

/** Options of the bounded server; every one is in milliseconds or a count. */
export interface ServerLimits {
  /**
   * Most ms a client may take to send a request's headers, from the moment
   * it connects (or ends the previous request); past it the server answers
   * 408 and closes the connection. @defaultValue 10000
   */
  headersTimeoutMs?: number;
  /**
   * Most ms a client may take to send a whole request, body included; past
   * it, 408 and close. At least `headersTimeoutMs`. @defaultValue 30000
   */
  requestTimeoutMs?: number;
  /**
   * Most ms an idle keep-alive connection is kept between two requests.
   * Peers' pools close theirs after 4 s, so keep this above that.
   * @defaultValue 5000
   */
  keepAliveTimeoutMs?: number;
  /**
   * Most ms a connection may stay silent (no byte either way) while a
   * response is being made; `0` turns it off. Keep it longer than the
   * longest call a peer waits for (a handoff prepare: `handoffTimeoutMs`,
   * 120 s by default). @defaultValue 300000
   */
  idleTimeoutMs?: number;
  /**
   * Most connections held at once; further ones are closed as soon as they
   * are accepted. Keep it below the process's file-descriptor limit, less
   * what its own outgoing connections need. @defaultValue 1000
   */
  maxConnections?: number;
  /**
   * Most connections held at once from one remote IP address, so that one
   * client cannot take them all; further ones from it are closed at once.
   * Every peer opens up to its transport's `connections` (8) to each node.
   * @defaultValue 256
   */
  maxConnectionsPerAddress?: number;
}

/** The defaults of {@link ServerLimits}. */
export const DEFAULT_SERVER_LIMITS: Readonly<Required<ServerLimits>> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  maxConnections: 1000,
  maxConnectionsPerAddress: 256,
});

const MAX_TIMER_MS = 2_147_483_647;

function bound(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      `${name} must be an integer from ${min} to ${max}, got ${String(value)}`,
      {
        details: { option: name },
      },
    );
  }
  return value;
}

/**
 * Validates and defaults limits.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the option that is out
 *   of range, or a `requestTimeoutMs` shorter than `headersTimeoutMs`.
 */
export function resolveServerLimits(limits: ServerLimits = {}): Readonly<Required<ServerLimits>> {
  const l = { ...DEFAULT_SERVER_LIMITS, ...stripUndefined(limits) };
  bound('headersTimeoutMs', l.headersTimeoutMs, 1, MAX_TIMER_MS);
  bound('requestTimeoutMs', l.requestTimeoutMs, 1, MAX_TIMER_MS);
  bound('keepAliveTimeoutMs', l.keepAliveTimeoutMs, 1, MAX_TIMER_MS);
  bound('idleTimeoutMs', l.idleTimeoutMs, 0, MAX_TIMER_MS);
  bound('maxConnections', l.maxConnections, 1, 1_000_000);
  bound('maxConnectionsPerAddress', l.maxConnectionsPerAddress, 1, 1_000_000);
  if (l.requestTimeoutMs < l.headersTimeoutMs) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      `requestTimeoutMs (${l.requestTimeoutMs}) must be at least headersTimeoutMs (${l.headersTimeoutMs})`,
      { details: { option: 'requestTimeoutMs' } },
    );
  }
  return Object.freeze(l);
}

function stripUndefined(limits: ServerLimits): ServerLimits {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(limits)) if (v !== undefined) out[k] = v;
  return out as ServerLimits;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a bounded server counts; read it with {@link connectionStats}. */
interface Counts {
  open: number;
  refused: number;
  readonly perAddress: Map<string, number>;
}

const COUNTS = new WeakMap<Server, Counts>();

/** Connections a bounded server holds now, and how many it refused since it started. */
export function connectionStats(server: Server): { open: number; refused: number } | undefined {
  const c = COUNTS.get(server);
  return c === undefined ? undefined : { open: c.open, refused: c.refused };
}

/**
 * A Fastify `serverFactory` that makes an `http.Server` with these limits,
 * or an `https.Server` with `tls` (from `resolveTls`; with
 * `requireClientCert`, a client without a certificate signed by its CA is
 * refused during the handshake). A TLS handshake must end within
 * `headersTimeoutMs`, so a client that connects and stalls is cut like a
 * slow one.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` (see {@link resolveServerLimits};
 *   a TLS setting without a certificate)
 */
export function limitedServerFactory(
  limits: ServerLimits = {},
  tls?: ResolvedTls,
): (handler: Handler) => Server {
  const l = resolveServerLimits(limits);
  const secure = tls === undefined ? undefined : tlsServerOptions(tls);
  return (handler) => {
    const httpOptions = {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // How often the header and request timeouts are checked: a fraction
      // of the shortest, so a slow client is cut close to its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
    };
    // An https.Server is an http.Server to every caller here (Fastify, the
    // connection counting below).
    const server: Server =
      secure === undefined
        ? createServer(httpOptions, handler)
        : (createHttpsServer(
            { ...httpOptions, ...secure, handshakeTimeout: l.headersTimeoutMs },
            handler,
          ) as unknown as Server);
    server.maxConnections = l.maxConnections;
    if (l.idleTimeoutMs > 0) server.setTimeout(l.idleTimeoutMs);
    const counts: Counts = { open: 0, refused: 0, perAddress: new Map() };
    COUNTS.set(server, counts);
    server.on('drop', () => {
      counts.refused++;
    });
    // Runs before the HTTP machinery sees the socket.
    server.prependListener('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? '';
      const n = counts.perAddress.get(address) ?? 0;
      if (n >= l.maxConnectionsPerAddress) {
        counts.refused++;
        socket.destroy();
        return;
      }
      counts.perAddress.set(address, n + 1);
      counts.open++;
      socket.once('close', () => {
        counts.open--;
        const left = (counts.perAddress.get(address) ?? 1) - 1;
        if (left <= 0) counts.perAddress.delete(address);
        else counts.perAddress.set(address, left);
      });
    });
    return server;
  };
}
