/**
 * The reference node server: one Fastify app with
 *
 * - the peer routes (`/_supercache/v1/*`, MessagePack, cluster secret) from
 *   `@supercache/cluster`'s plugin, when a peer endpoint is given;
 * - the JSON client API (`/v1/tuples…`, `/v1/kv…`, `/v1/stats`);
 * - `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus);
 * - `/dashboard`, a live page, and `/dashboard/state`, its data (guarded like the client API).
 *
 * Logging is Fastify's own pino logger; errors of the JSON routes go
 * through one handler that maps codes to statuses with the cluster
 * package's table.
 */

import {
  type ClientTokenSpec,
  limitedServerFactory,
  type PeerEndpoint,
  resolveTls,
  type ServerLimits,
  supercachePeerPlugin,
  type TlsOptions,
} from '@supercache/cluster';
import type { HealthAlert, SuperCache } from '@supercache/core';
import { SuperCacheError } from '@supercache/storage';
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { type ClientApiLimits, registerClientApi } from './client-api.js';
import { type ClientAuthOptions, clientAuthHook } from './client-auth.js';
import type { ClusterSource, NodeHealthReport } from './cluster-source.js';
import { registerDashboardPage, registerDashboardState } from './dashboard.js';
import { OpsSeries } from './dashboard-series.js';
import { errorBody, jsonErrorHandler } from './http-errors.js';
import { termToJson } from './json-terms.js';
import { NodeMetrics } from './metrics.js';

/** Log levels of the server (pino's, plus `silent`). */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The log levels {@link createNodeServer} accepts. */
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Options of {@link createNodeServer}. */
export interface NodeServerOptions {
  /** The cache the client API serves (local or distributed; started or about to be). */
  cache: SuperCache;
  /**
   * The cluster node, for `/health`, `/ready` and the cluster metrics.
   * Without it the server reports a one-node cluster (local mode).
   */
  cluster?: ClusterSource;
  /**
   * Mounts the peer routes: calls are dispatched to `endpoint` (the node's
   * `HttpTransport`), authenticated by credentials made from `secret` (member
   * keys and client tokens) and by `clientTokens`.
   */
  peer?: {
    endpoint: PeerEndpoint;
    secret: string;
    /** Opaque client tokens the peer routes accept besides the derived ones. */
    clientTokens?: readonly ClientTokenSpec[];
    /** Largest peer request body. @defaultValue 8 MiB (the plugin's default) */
    bodyLimit?: number;
  };
  /** This node's id in responses and metric labels. @defaultValue the cluster node's id, else the cache's nodeId, else 'local' */
  nodeId?: string;
  /** Pino log level. @defaultValue 'info' */
  logLevel?: LogLevel;
  /**
   * Where log lines go. stdout is left to the CLI's event lines
   * (`{"event":"listening",…}`), so logs default to stderr.
   * @defaultValue process.stderr
   */
  logStream?: NodeJS.WritableStream;
  /** Largest JSON request body of the client API, in bytes. @defaultValue 8388608 (8 MiB) */
  bodyLimit?: number;
  /**
   * Timeouts and connection caps of the server (peer routes and client API
   * share them). @defaultValue the cluster package's `DEFAULT_SERVER_LIMITS`
   */
  limits?: ServerLimits;
  /** Limits of the JSON client API's listings and cursors. @defaultValue see {@link ClientApiLimits} */
  api?: ClientApiLimits;
  /**
   * Serve HTTPS: `cert`/`key` are presented to every client; with
   * `requireClientCert`, every connection (peers and JSON API clients
   * alike) must present a certificate signed by `ca`, or its handshake is
   * refused. Takes the cluster package's `TlsOptions` (a `ResolvedTls`
   * is one). @defaultValue plain HTTP
   */
  tls?: TlsOptions;
  /**
   * The JSON client API (`/v1/*`): `false` leaves it out (it listens
   * elsewhere); `{ auth }` requires a bearer token on every `/v1` request;
   * `{}` serves it without authentication — only for a server bound to
   * loopback. `/health`, `/ready` and `/metrics` are always served, without
   * a token.
   * @defaultValue `{}` (no authentication)
   */
  clientApi?: false | { auth?: ClientAuthOptions };
}

/** Longest URL path parameter (a KV namespace or key, URL-encoded), in characters. */
export const MAX_PARAM_LENGTH = 1024;

/** What `/health` answers. */
export interface HealthBody {
  readonly status: 'ok';
  readonly node: string;
  /** The node's lifecycle state: `joining`, `running`, `leaving` or `stopped`. */
  readonly state: string;
  readonly epoch: number;
  readonly leader: string | undefined;
  readonly members: ReadonlyArray<{ id: string; address: string; alive: boolean; rttMs: number }>;
  /** Per table: factor, mode, shortfall and lag per partition and backup (cluster nodes only). */
  readonly replication?: NodeHealthReport['replication'];
  /**
   * The cache's raised health alerts, as of its last check (`cache.health().alerts`;
   * empty while the cache is stopped). Liveness stays `ok` while alerts are raised.
   */
  readonly alerts: readonly HealthAlert[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The node's Prometheus metrics (see `NodeMetrics`). */
    supercacheMetrics: NodeMetrics;
  }
}

/**
 * Builds the node's Fastify app (not listening yet: call `app.listen`).
 *
 * @example
 * ```ts
 * const cache = await SuperCache.start({ numPartition: 8 });
 * const app = await createNodeServer({ cache, logLevel: 'warn' });
 * await app.listen({ host: '127.0.0.1', port: 4000 });
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` for an unknown log level, a
 *   peer option the plugin refuses (an empty secret), or TLS options that
 *   do not load (a key that does not match its certificate, say).
 */
export async function createNodeServer(options: NodeServerOptions): Promise<FastifyInstance> {
  const { cache, cluster } = options;
  const level = options.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new SuperCacheError(
      'SC_ERR_BAD_CONFIG',
      `logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${level}`,
    );
  }
  const nodeId = options.nodeId ?? cluster?.nodeId ?? cache.config.nodeId ?? 'local';
  const app = Fastify({
    logger: { level, base: { node: nodeId }, stream: options.logStream ?? process.stderr },
    // One log line per request is too much for a cache at info; debug and trace keep it.
    logController: new LogController({ disableRequestLogging: level !== 'debug' && level !== 'trace' }),
    bodyLimit: options.bodyLimit ?? 8 * 1024 * 1024,
    forceCloseConnections: true,
    serverFactory: limitedServerFactory(
      options.limits,
      options.tls === undefined ? undefined : resolveTls(options.tls),
    ),
    // A "__proto__" or "constructor" key in a body is data (a term's key),
    // kept as an own property by JSON.parse; the JSON-term decoder copies
    // with defineProperty, so no prototype is ever touched.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals answer in the documented error shape too.
    frameworkErrors: (error, _request, reply) => {
      const e = new SuperCacheError(
        'SC_ERR_BAD_REQUEST',
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? `a URL path parameter (a KV namespace or key) is longer than ${MAX_PARAM_LENGTH} characters, URL-encoded`
          : error.message,
        error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? { details: { limit: MAX_PARAM_LENGTH } } : {},
      );
      return (reply as FastifyReply).code(400).type('application/json; charset=utf-8').send(errorBody(e));
    },
    // Reject, never repair: no type coercion, no silent removal of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });
  const metrics = new NodeMetrics(cache, cluster, nodeId);
  app.decorate('supercacheMetrics', metrics);
  const series = new OpsSeries();

  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url?.startsWith('/v1/'))
      series.observe(reply.elapsedTime, reply.statusCode >= 500);
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.setErrorHandler(jsonErrorHandler);
  app.setNotFoundHandler((request, reply) => {
    const error = new SuperCacheError('SC_ERR_NOT_FOUND', `no route ${request.method} ${request.url}`);
    return reply.code(404).send(errorBody(error));
  });

  if (options.peer !== undefined) {
    await app.register(supercachePeerPlugin, {
      transport: options.peer.endpoint,
      secret: options.peer.secret,
      ...(options.peer.bodyLimit === undefined ? {} : { bodyLimit: options.peer.bodyLimit }),
      ...(options.peer.clientTokens === undefined ? {} : { clientTokens: options.peer.clientTokens }),
    });
  }

  const clientApi = options.clientApi ?? {};
  if (clientApi !== false) {
    // Built now, so a bad token fails here and not on the first request.
    const auth = clientApi.auth === undefined ? undefined : clientAuthHook(clientApi.auth);
    await app.register(async (scope) => {
      if (auth !== undefined) scope.addHook('onRequest', auth);
      registerClientApi(scope, cache, options.api);
      registerStats(scope, options, nodeId);
      // The dashboard's data sits beside the client API, behind the same guard.
      registerDashboardState(scope, { cache, cluster, nodeId, series });
    });
    // The page itself holds no data; it polls its own origin, so it is served where the client API is.
    registerDashboardPage(app);
  }

  app.get('/health', async (): Promise<HealthBody> => {
    const alerts = cache.started ? cache.health().alerts : [];
    if (cluster === undefined) {
      return {
        status: 'ok',
        node: nodeId,
        state: cache.started ? 'running' : 'stopped',
        epoch: 0,
        leader: nodeId,
        members: [{ id: nodeId, address: 'local', alive: true, rttMs: 0 }],
        alerts,
      };
    }
    const h = cluster.health();
    return {
      status: 'ok',
      node: h.node,
      state: h.status,
      epoch: h.epoch,
      leader: h.leader,
      members: h.members.map((m) => ({ id: m.id, address: m.address, alive: m.alive, rttMs: m.rttMs })),
      ...(h.replication === undefined ? {} : { replication: h.replication }),
      alerts,
    };
  });

  app.get('/ready', async (_request, reply) => {
    const state = cluster === undefined ? (cache.started ? 'running' : 'stopped') : cluster.status;
    const ready = cache.started && state === 'running';
    return reply.code(ready ? 200 : 503).send({ ready, node: nodeId, state });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });

  return app;
}

/** `GET /v1/stats`: the node's sizes, view, handoffs and routing counters. */
function registerStats(scope: FastifyInstance, options: NodeServerOptions, nodeId: string): void {
  const { cache, cluster } = options;
  scope.get('/v1/stats', async () => {
    const stats = await cache.stats();
    const clusterStats = await cache.clusterStats();
    const h = cluster?.health();
    const main = h?.balance['supercache.main'] ?? h?.balance.main;
    return {
      node: nodeId,
      state: h?.status ?? (cache.started ? 'running' : 'stopped'),
      epoch: h?.epoch ?? 0,
      size: stats.totals.size,
      ownedPartitions: main === undefined ? stats.numPartition : (main.owned[nodeId] ?? 0),
      numPartition: stats.numPartition,
      totals: stats.totals,
      structures: stats.structures,
      cluster: termToJson(clusterStats),
      handoff: h?.handoff,
      handoffs: cluster?.recentHandoffs?.() ?? [],
      routing: h?.stats,
    };
  });
}
