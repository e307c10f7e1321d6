/**
 * `/dashboard`: a live page of the cluster as this node sees it, and the
 * JSON it polls.
 *
 * - `GET /dashboard` (and its `app.js`, `app.css`) is a static shell: it
 *   holds no cluster data, so it is served without a token; a strict
 *   Content-Security-Policy lets it run only its own script.
 * - `GET /dashboard/state` is the data (members, partition map, handoffs,
 *   replication, traffic series). It is registered next to the JSON client
 *   API, behind the same guard (the bearer-token hook when the API has one);
 *   the page sends the token it was given in its URL fragment (`#token=…`)
 *   or asks for one on a 401.
 */

import { readFileSync } from 'node:fs';
import type { SuperCache } from '@supercache/core';
import type { FastifyInstance } from 'fastify';
import type { ActiveHandoff, ClusterSource, HandoffRecord, NodeTableReplication } from './cluster-source.js';
import type { OpsSeries, SeriesPoint } from './dashboard-series.js';

/** One member on the dashboard. */
export interface DashboardMember {
  readonly id: string;
  readonly address: string;
  readonly alive: boolean;
  /** Last heartbeat round-trip in ms (`0` for the serving node, `-1` when never measured). */
  readonly rttMs: number;
  readonly leader: boolean;
  /** Partitions of the main table this member leads. */
  readonly primaries: number;
  /** Backup copies of the main table this member holds. */
  readonly backups: number;
}

/** One table's placement on the dashboard. */
export interface DashboardTable {
  readonly name: string;
  readonly placement: 'partitions' | 'shards';
  /** Partitions (or shards) owned per member. */
  readonly owned: Readonly<Record<string, number>>;
  /** Copies of every partition, primary first; empty for `'shards'` tables. */
  readonly partitions: ReadonlyArray<readonly string[]>;
  readonly replication?: NodeTableReplication;
}

/** What `GET /dashboard/state` answers. */
export interface DashboardState {
  /** The node answering. */
  readonly node: string;
  /** Its lifecycle state. */
  readonly state: string;
  readonly epoch: number;
  readonly leader: string | undefined;
  /** Wall-clock ms of the answer. */
  readonly at: number;
  readonly numPartition: number;
  readonly members: readonly DashboardMember[];
  /** The cache's main table first. */
  readonly tables: readonly DashboardTable[];
  readonly handoffs: {
    readonly active: readonly ActiveHandoff[];
    /** The last handoffs this node led, oldest first. */
    readonly recent: readonly HandoffRecord[];
    readonly committed: number;
    readonly aborted: number;
  };
  /** Routed operations (this node as caller) since start, and their success rate. */
  readonly routing: { readonly opsOk: number; readonly opsFailed: number; readonly successRate: number };
  /** The client API's traffic on this node, one point per second, oldest first. */
  readonly series: readonly SeriesPoint[];
}

const STATIC = new URL('../static/', import.meta.url);
const ASSETS = {
  '/dashboard': { file: 'dashboard.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
} as const;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Serves the page and its assets (read once, at registration). */
export function registerDashboardPage(app: FastifyInstance): void {
  for (const [route, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(asset.file, STATIC), 'utf8');
    app.get(route, async (_request, reply) => reply.headers(SECURITY_HEADERS).type(asset.type).send(body));
  }
}

/** What {@link registerDashboardState} reads. */
export interface DashboardSources {
  readonly cache: SuperCache;
  readonly cluster: ClusterSource | undefined;
  readonly nodeId: string;
  readonly series: OpsSeries;
}

const MAIN_TABLE = 'supercache.main';

/** The dashboard's data, as `GET /dashboard/state` answers it. */
export function dashboardState(src: DashboardSources, now: number = Date.now()): DashboardState {
  const { cache, cluster, nodeId } = src;
  const numPartition = cache.config.numPartition;
  const series = src.series.points(60);
  if (cluster === undefined) {
    const partitions = Array.from({ length: numPartition }, () => [nodeId]);
    return {
      node: nodeId,
      state: cache.started ? 'running' : 'stopped',
      epoch: 0,
      leader: nodeId,
      at: now,
      numPartition,
      members: [
        {
          id: nodeId,
          address: 'local',
          alive: true,
          rttMs: 0,
          leader: true,
          primaries: numPartition,
          backups: 0,
        },
      ],
      tables: [{ name: MAIN_TABLE, placement: 'partitions', owned: { [nodeId]: numPartition }, partitions }],
      handoffs: { active: [], recent: [], committed: 0, aborted: 0 },
      routing: { opsOk: 0, opsFailed: 0, successRate: 1 },
      series,
    };
  }
  const h = cluster.health();
  const map = cluster.partitionMap?.() ?? {};
  const names = [...new Set([...Object.keys(h.balance), ...Object.keys(map)])].sort((a, b) =>
    a === MAIN_TABLE ? -1 : b === MAIN_TABLE ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const tables: DashboardTable[] = names.map((name) => {
    const m = map[name];
    const replication = h.replication?.[name];
    return {
      name,
      placement: m?.placement ?? 'partitions',
      owned: h.balance[name]?.owned ?? {},
      partitions: m?.partitions ?? [],
      ...(replication === undefined ? {} : { replication }),
    };
  });
  const main = tables[0];
  const primaries = new Map<string, number>();
  const backups = new Map<string, number>();
  for (const copies of main?.partitions ?? []) {
    copies.forEach((n, i) => {
      const counts = i === 0 ? primaries : backups;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    });
  }
  return {
    node: h.node,
    state: h.status,
    epoch: h.epoch,
    leader: h.leader,
    at: now,
    numPartition,
    members: h.members.map((m) => ({
      id: m.id,
      address: m.address,
      alive: m.alive,
      rttMs: m.rttMs,
      leader: m.id === h.leader,
      primaries: primaries.get(m.id) ?? main?.owned[m.id] ?? 0,
      backups: backups.get(m.id) ?? 0,
    })),
    tables,
    handoffs: {
      active: cluster.activeHandoffs?.() ?? [],
      recent: cluster.recentHandoffs?.() ?? [],
      committed: h.handoff.committed,
      aborted: h.handoff.aborted,
    },
    routing: { opsOk: h.stats.opsOk, opsFailed: h.stats.opsFailed, successRate: h.successRate },
    series,
  };
}

/**
 * Registers `GET /dashboard/state` on `scope`: the scope of the JSON client
 * API, so the API's guard (its `onRequest` hook) covers it too.
 */
export function registerDashboardState(scope: FastifyInstance, src: DashboardSources): void {
  scope.get('/dashboard/state', async (_request, reply): Promise<DashboardState> => {
    reply.header('cache-control', 'no-store');
    return dashboardState(src);
  });
}
