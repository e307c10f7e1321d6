/**
 * `supercache-node status --peer URL`: the cluster at a glance in a
 * terminal, as one node sees it — members, epoch, partitions owned per
 * node, handoffs, replication lag and alerts. It reads the node's
 * `/dashboard/state` (guarded like the client API: pass `--token`) and
 * `/health` (for alerts, when the node reports any).
 *
 * Exit codes: 0 printed, 1 the node could not be read, 2 usage error.
 */

import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { DashboardState } from './dashboard.js';

/** Options of `status`. */
export interface StatusOptions {
  /** Base URL of any member's client API. */
  readonly peer: string;
  /** Bearer token of the client API, when it requires one. */
  readonly token?: string;
  /** Print the raw JSON instead of the table. */
  readonly json: boolean;
  /** Most ms to wait for each request. */
  readonly timeoutMs: number;
}

/** The usage of `status`. */
export function statusUsage(): string {
  return [
    'Usage: supercache-node status --peer <url> [--token <token>] [--json]',
    '',
    '  --peer <url>        A member’s URL (http://host:port) [SUPERCACHE_PEER]',
    '  --token <token>     Bearer token of the client API, if it needs one [SUPERCACHE_CLIENT_TOKEN]',
    '  --json              Print the node’s /dashboard/state and /health as JSON',
    '  --timeout-ms <ms>   Most ms per request (default: 5000)',
  ].join('\n');
}

/** A usage error of `status` (exit code 2). */
export class StatusUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatusUsageError';
  }
}

/**
 * Parses the arguments after `status`.
 * @throws StatusUsageError on an unknown flag, a missing `--peer`, or a bad value.
 */
export function parseStatusArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): StatusOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        peer: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new StatusUsageError((e as Error).message);
  }
  if (values.help === true) return 'help';
  const peer = (values.peer as string | undefined) ?? env.SUPERCACHE_PEER;
  if (peer === undefined || peer === '')
    throw new StatusUsageError('--peer (or SUPERCACHE_PEER) is required');
  let url: URL;
  try {
    url = new URL(peer);
  } catch {
    throw new StatusUsageError(`--peer "${peer}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StatusUsageError('--peer must be an http:// or https:// URL');
  }
  const rawTimeout = values['timeout-ms'] as string | undefined;
  const timeoutMs = rawTimeout === undefined ? 5000 : Number(rawTimeout);
  if (!/^[0-9]{1,7}$/.test(rawTimeout ?? '5000') || timeoutMs < 1) {
    throw new StatusUsageError(`--timeout-ms must be an integer from 1 to 9999999, got "${rawTimeout}"`);
  }
  const token = (values.token as string | undefined) ?? env.SUPERCACHE_CLIENT_TOKEN;
  return {
    peer: url.origin,
    json: values.json === true,
    timeoutMs,
    ...(token === undefined || token === '' ? {} : { token }),
  };
}

/** What `status` reads from a node. */
export interface StatusReport {
  readonly state: DashboardState;
  /** The node's `/health` body (its `alerts`, when it reports them). */
  readonly health: Record<string, unknown> | undefined;
}

async function getJson(options: StatusOptions, path: string): Promise<unknown> {
  const response = await request(`${options.peer}${path}`, {
    method: 'GET',
    headers: {
      accept: 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const text = await response.body.text();
  if (response.statusCode === 401 || response.statusCode === 403) {
    throw new Error(`${path}: HTTP ${response.statusCode}: the client API needs a valid --token`);
  }
  if (response.statusCode !== 200)
    throw new Error(`${path}: HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** Reads the node's state and health. @throws Error when the node cannot be read. */
export async function fetchStatus(options: StatusOptions): Promise<StatusReport> {
  const [state, health] = await Promise.all([
    getJson(options, '/dashboard/state') as Promise<DashboardState>,
    getJson(options, '/health').then(
      (h) => h as Record<string, unknown>,
      () => undefined,
    ),
  ]);
  return { state, health };
}

function ms(v: number): string {
  if (v < 0) return '-';
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) => `${indent}${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());
}

function describeAlert(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a !== null && typeof a === 'object') {
    const o = a as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
  }
  return JSON.stringify(a);
}

/** The report as text, one section per topic. */
export function formatStatus(report: StatusReport): string {
  const s = report.state;
  const out: string[] = [];
  out.push(
    `cluster seen by ${s.node} (${s.state}) · epoch ${s.epoch} · leader ${s.leader ?? '-'} · ${s.members.length} members · ${s.numPartition} partitions`,
  );
  out.push('', 'MEMBERS');
  out.push(
    ...table([
      ['NODE', 'ADDRESS', 'STATE', 'RTT', 'PRIMARIES', 'BACKUPS'],
      ...s.members.map((m) => [
        m.id + (m.leader ? ' *' : ''),
        m.address,
        m.alive ? 'alive' : 'unreachable',
        ms(m.rttMs),
        String(m.primaries),
        String(m.backups),
      ]),
    ]),
  );
  out.push('  (* leader)', '', 'PARTITIONS OWNED');
  for (const t of s.tables) {
    const owned = Object.entries(t.owned);
    const total = owned.reduce((n, [, c]) => n + c, 0);
    out.push(`  ${t.name} (${t.placement}): ${owned.map(([n, c]) => `${n} ${c}`).join(' · ')} = ${total}`);
  }
  out.push('', 'REPLICATION');
  const replicated = s.tables.filter((t) => t.replication !== undefined);
  if (replicated.length === 0) out.push('  (not reported)');
  out.push(
    ...table(
      replicated.length === 0
        ? []
        : [
            ['TABLE', 'COPIES', 'SHORTFALL', 'MAX LAG', 'OUT OF SYNC'],
            ...replicated.map((t) => {
              const r = t.replication as NonNullable<typeof t.replication>;
              return [
                t.name,
                `${r.copies}/${r.factor}`,
                String(r.shortfall),
                `${r.maxLagRecords} records / ${ms(r.maxLagMs)}`,
                String(r.outOfSync),
              ];
            }),
          ],
    ),
  );
  if (replicated.length > 0) out.push('  (lag: backups of the partitions this node leads)');
  const h = s.handoffs;
  out.push('', 'HANDOFFS');
  out.push(
    `  ${h.active.length} in progress · ${h.committed} committed · ${h.aborted} aborted (led by ${s.node})`,
  );
  for (const a of h.active) {
    out.push(
      `  ${a.id} ${a.role}${a.peer === undefined ? '' : ` ↔ ${a.peer}`} ${a.phase} ${Math.round(a.progress * 100)}% · ${a.entries} entries`,
    );
  }
  for (const r of h.recent.slice(-3)) {
    out.push(
      `  last: ${r.id} ${r.phase} · ${r.entries} entries in ${ms(r.durationMs)}${r.error === undefined ? '' : ` (${r.error})`}`,
    );
  }
  const alerts = Array.isArray(report.health?.alerts) ? (report.health.alerts as unknown[]) : [];
  out.push('', 'ALERTS');
  if (alerts.length === 0) out.push('  none');
  for (const a of alerts) out.push(`  ! ${describeAlert(a)}`);
  return out.join('\n');
}

/** Runs `status` with `argv` (after the word `status`); resolves with the exit code. */
export async function runStatus(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: { out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  let options: StatusOptions | 'help';
  try {
    options = parseStatusArgs(argv, env);
  } catch (e) {
    io.err(`supercache-node status: ${(e as Error).message}\n\n${statusUsage()}\n`);
    return 2;
  }
  if (options === 'help') {
    io.out(`${statusUsage()}\n`);
    return 0;
  }
  let report: StatusReport;
  try {
    report = await fetchStatus(options);
  } catch (e) {
    io.err(`supercache-node status: cannot read ${options.peer}: ${(e as Error).message}\n`);
    return 1;
  }
  io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
  return 0;
}
