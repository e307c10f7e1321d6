/**
 * Command-line and environment configuration of `supercache-node`. A flag
 * wins over its environment variable, which wins over the default.
 */

import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { clientToken } from '@supercache/cluster';
import type { TableType } from '@supercache/storage';
import { isLoopback } from './client-auth.js';
import { LOG_LEVELS, type LogLevel } from './server.js';

/** One peer given by `--peers`: `id=http://host:port`. */
export interface PeerArg {
  readonly id: string;
  readonly address: string;
}

/** The validated configuration of one node process. */
export interface NodeConfig {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly peers: readonly PeerArg[];
  /** `--discover-dns` / `--discover-srv`: the DNS name peers are found through, re-resolved every 5 s. */
  readonly discover?:
    | { readonly records: 'a' | 'srv'; readonly name: string; readonly dnsServers?: readonly string[] }
    | undefined;
  readonly secret: string;
  readonly partitions: number;
  readonly tableType: TableType;
  readonly replicationFactor: number;
  readonly replicationMode: ReplicationModeArg;
  /** `--failure-timeout-ms`; unset leaves the cluster default (3000). */
  readonly failureTimeoutMs?: number;
  /** `--heartbeat-ms`; unset leaves the cluster default (500). */
  readonly heartbeatMs?: number;
  readonly logLevel: LogLevel;
  /** `--max-clock-skew-ms`; undefined: the cluster package's default (60 s). */
  readonly maxClockSkewMs?: number | undefined;
  /** `--headers-timeout-ms`; undefined: the default of `ServerLimits`. */
  readonly headersTimeoutMs?: number | undefined;
  /** `--request-timeout-ms`. */
  readonly requestTimeoutMs?: number | undefined;
  /** `--keep-alive-timeout-ms`. */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** `--idle-timeout-ms`. */
  readonly idleTimeoutMs?: number | undefined;
  /** `--max-connections`. */
  readonly maxConnections?: number | undefined;
  /** `--max-connections-per-address`. */
  readonly maxConnectionsPerAddress?: number | undefined;
  /** `--max-page-size`: largest listing page of the JSON API. */
  readonly maxPageSize?: number | undefined;
  /** `--max-cursors-per-client`: open page cursors of one JSON API client. */
  readonly maxCursorsPerClient?: number | undefined;
  /** `--client-token` (repeatable): bearer tokens of the JSON client API, read and write. */
  readonly clientTokens: readonly string[];
  /** `--read-only-client-token` (repeatable): bearer tokens that may only read. */
  readonly readOnlyClientTokens: readonly string[];
  /**
   * Where the JSON client API listens when apart from the peer routes
   * (`--client-host` / `--client-port`); undefined: on the peer server.
   */
  readonly clientListen?: { readonly host: string; readonly port: number } | undefined;
  /** TLS files and client authentication; undefined: plain HTTP. */
  readonly tls?: TlsArgs | undefined;
}

/**
 * `--tls-client-auth`: `require` asks every connection (peers and JSON API
 * clients) for a certificate signed by `--tls-ca` and refuses the handshake
 * without one; `none` asks for none.
 */
export type TlsClientAuth = 'none' | 'require';
const TLS_CLIENT_AUTH: readonly TlsClientAuth[] = ['none', 'require'];

/** The TLS settings of a node: PEM file paths and the client authentication mode. */
export interface TlsArgs {
  /** `--tls-cert`: this node's certificate chain (server, and client towards peers). */
  readonly certFile: string;
  /** `--tls-key`: its private key. */
  readonly keyFile: string;
  /** `--tls-ca`: the CA peers' and clients' certificates must chain to. */
  readonly caFile?: string | undefined;
  readonly clientAuth: TlsClientAuth;
}

/** The numeric bounds settable from the command line: flag, config field, env, range, default, help. */
const LIMIT_FLAGS = [
  {
    flag: 'max-clock-skew-ms',
    field: 'maxClockSkewMs',
    env: 'SUPERCACHE_MAX_CLOCK_SKEW_MS',
    min: 1,
    max: 2 ** 40,
    default: '60000',
    description: 'Most ms a peer version may lead this clock; further ahead is refused (SC_ERR_CLOCK_SKEW).',
  },
  {
    flag: 'headers-timeout-ms',
    field: 'headersTimeoutMs',
    env: 'SUPERCACHE_HEADERS_TIMEOUT_MS',
    min: 1,
    max: 2_147_483_647,
    default: '10000',
    description: 'Most ms a client may take to send request headers (then 408 and close).',
  },
  {
    flag: 'request-timeout-ms',
    field: 'requestTimeoutMs',
    env: 'SUPERCACHE_REQUEST_TIMEOUT_MS',
    min: 1,
    max: 2_147_483_647,
    default: '30000',
    description: 'Most ms a client may take to send a whole request (then 408 and close).',
  },
  {
    flag: 'keep-alive-timeout-ms',
    field: 'keepAliveTimeoutMs',
    env: 'SUPERCACHE_KEEP_ALIVE_TIMEOUT_MS',
    min: 1,
    max: 2_147_483_647,
    default: '5000',
    description: 'Most ms an idle keep-alive connection is kept.',
  },
  {
    flag: 'idle-timeout-ms',
    field: 'idleTimeoutMs',
    env: 'SUPERCACHE_IDLE_TIMEOUT_MS',
    min: 0,
    max: 2_147_483_647,
    default: '300000',
    description: 'Most ms a connection may stay silent while a response is made; 0 = off.',
  },
  {
    flag: 'max-connections',
    field: 'maxConnections',
    env: 'SUPERCACHE_MAX_CONNECTIONS',
    min: 1,
    max: 1_000_000,
    default: '1000',
    description: 'Most connections held at once (keep below the file-descriptor limit).',
  },
  {
    flag: 'max-connections-per-address',
    field: 'maxConnectionsPerAddress',
    env: 'SUPERCACHE_MAX_CONNECTIONS_PER_ADDRESS',
    min: 1,
    max: 1_000_000,
    default: '256',
    description: 'Most connections held at once from one remote IP address.',
  },
  {
    flag: 'max-page-size',
    field: 'maxPageSize',
    env: 'SUPERCACHE_MAX_PAGE_SIZE',
    min: 1,
    max: 1_000_000,
    default: '10000',
    description: 'Largest `limit` of a JSON API listing page (the default page is 1000 or this, if less).',
  },
  {
    flag: 'max-cursors-per-client',
    field: 'maxCursorsPerClient',
    env: 'SUPERCACHE_MAX_CURSORS_PER_CLIENT',
    min: 1,
    max: 1_000_000,
    default: '16',
    description: 'Most open JSON API page cursors of one client address (more: 429 SC_ERR_LIMIT).',
  },
] as const;

/** `--replication-mode`. */
export type ReplicationModeArg = 'async' | 'sync' | 'strong';
const REPLICATION_MODES: readonly ReplicationModeArg[] = ['async', 'sync', 'strong'];

/** A usage error: the CLI prints `message` and the usage, then exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What `parseNodeArgs` returns: a configuration, a request for help, or a token to print. */
export type ParsedArgs =
  | { readonly kind: 'run'; readonly config: NodeConfig }
  | { readonly kind: 'help' }
  | { readonly kind: 'token'; readonly token: string };

/** Every option: flag, environment variable, default, description (the README table is made from this). */
export const OPTIONS: ReadonlyArray<{
  flag: string;
  env: string | undefined;
  default: string;
  description: string;
}> = [
  {
    flag: '--id',
    env: 'SUPERCACHE_NODE_ID',
    default: '(required)',
    description: 'This node’s id, unique in the cluster; the smallest live id leads.',
  },
  {
    flag: '--host',
    env: 'SUPERCACHE_HOST',
    default: '127.0.0.1',
    description: 'Address to listen on (and to advertise to peers).',
  },
  {
    flag: '--port',
    env: 'SUPERCACHE_PORT',
    default: '4000',
    description: 'Port to listen on; 0 picks a free one (read it from the `listening` line).',
  },
  {
    flag: '--peers',
    env: 'SUPERCACHE_PEERS',
    default: '(none)',
    description: 'Comma list of `id=http://host:port` to join through; none forms a new cluster.',
  },
  {
    flag: '--discover-dns',
    env: 'SUPERCACHE_DISCOVER_DNS',
    default: '(none)',
    description: 'DNS name whose A/AAAA records are the peers, on this node’s --port (a headless Service).',
  },
  {
    flag: '--discover-srv',
    env: 'SUPERCACHE_DISCOVER_SRV',
    default: '(none)',
    description: 'DNS name whose SRV records are the peers (`_supercache._tcp.<service>`).',
  },
  {
    flag: '--dns-servers',
    env: 'SUPERCACHE_DNS_SERVERS',
    default: '(the system’s)',
    description: 'Comma list of DNS servers (`ip` or `ip:port`) that discovery asks.',
  },
  {
    flag: '--secret',
    env: 'SUPERCACHE_SECRET',
    default: '(required)',
    description: 'Cluster secret shared by every node; peers without it get 401.',
  },
  {
    flag: '--partitions',
    env: 'SUPERCACHE_PARTITIONS',
    default: '16',
    description: 'numPartition: cluster-wide partition count (every node must agree).',
  },
  {
    flag: '--table-type',
    env: 'SUPERCACHE_TABLE_TYPE',
    default: 'set',
    description: 'set | ordered_set | bag | duplicate_bag (every node must agree).',
  },
  {
    flag: '--replication-factor',
    env: 'SUPERCACHE_REPLICATION_FACTOR',
    default: '1',
    description: 'Copies of every partition, primary included, 1-7 (every node must agree).',
  },
  {
    flag: '--replication-mode',
    env: 'SUPERCACHE_REPLICATION_MODE',
    default: 'async',
    description: 'async | sync | strong: when a write is acknowledged (every node must agree).',
  },
  {
    flag: '--failure-timeout-ms',
    env: 'SUPERCACHE_FAILURE_TIMEOUT_MS',
    default: '3000',
    description: 'Silence after which the leader removes a member; a node keeps its lease for 2/3 of it.',
  },
  {
    flag: '--heartbeat-ms',
    env: 'SUPERCACHE_HEARTBEAT_MS',
    default: '500',
    description: 'Heartbeat interval; at most a third of the failure timeout.',
  },
  {
    flag: '--log-level',
    env: 'SUPERCACHE_LOG_LEVEL',
    default: 'info',
    description: 'fatal | error | warn | info | debug | trace | silent (logs go to stderr).',
  },
  ...LIMIT_FLAGS.map((f) => ({
    flag: `--${f.flag}`,
    env: f.env,
    default: f.default,
    description: f.description,
  })),
  {
    flag: '--tls-cert',
    env: 'SUPERCACHE_TLS_CERT',
    default: '(none: plain HTTP)',
    description: 'PEM certificate file: serve HTTPS (peer routes and client API) and present it to peers.',
  },
  {
    flag: '--tls-key',
    env: 'SUPERCACHE_TLS_KEY',
    default: '(none)',
    description: 'PEM private key file of --tls-cert.',
  },
  {
    flag: '--tls-ca',
    env: 'SUPERCACHE_TLS_CA',
    default: '(Node’s public CAs)',
    description: 'PEM CA file that peers’ (and, with client auth, clients’) certificates must chain to.',
  },
  {
    flag: '--tls-client-auth',
    env: 'SUPERCACHE_TLS_CLIENT_AUTH',
    default: 'require with --tls-ca, else none',
    description: 'require | none: whether every connection must present a certificate signed by --tls-ca.',
  },
  {
    flag: '--client-token',
    env: 'SUPERCACHE_CLIENT_TOKENS',
    default: '(none)',
    description:
      'Bearer token of the JSON client API (repeatable; env: comma list; 16+ characters). Without any, the API is open and must be on loopback.',
  },
  {
    flag: '--read-only-client-token',
    env: 'SUPERCACHE_READ_ONLY_CLIENT_TOKENS',
    default: '(none)',
    description: 'Bearer token that may only read (repeatable; env: comma list).',
  },
  {
    flag: '--client-host',
    env: 'SUPERCACHE_CLIENT_HOST',
    default: '(the peer server)',
    description: 'Serve the JSON client API on its own address, apart from the peer routes.',
  },
  {
    flag: '--client-port',
    env: 'SUPERCACHE_CLIENT_PORT',
    default: '(the peer server)',
    description: 'Port of the separate JSON client API; 0 picks a free one (see the `client-api` line).',
  },
  {
    flag: '--print-client-token',
    env: undefined,
    default: '',
    description:
      'Print the client token derived from --secret for this name (peer protocol and JSON API) and exit.',
  },
  {
    flag: '--read-only',
    env: undefined,
    default: '',
    description: 'With --print-client-token: a read-only token.',
  },
  { flag: '--help', env: undefined, default: '', description: 'Print this help and exit.' },
];

/** The usage text printed by `--help` and after a usage error. */
export function usage(): string {
  const lines = [
    'Usage: supercache-node --id <id> --secret <secret> [options]',
    '       supercache-node status --peer <url> [--token <token>] [--json]   (the cluster at a glance)',
    '',
    'Options (flag wins over environment):',
  ];
  for (const o of OPTIONS) {
    const env = o.env === undefined ? '' : ` [${o.env}]`;
    const dflt = o.default === '' ? '' : ` (default: ${o.default})`;
    lines.push(`  ${o.flag.padEnd(29)} ${o.description}${env}${dflt}`);
  }
  return lines.join('\n');
}

const TABLE_TYPES: readonly TableType[] = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function intArg(name: string, raw: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(raw))
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  return n;
}

/**
 * Parses `id=http://host:port,id2=http://…` into peers.
 * @throws UsageError on a malformed entry or a duplicate id.
 */
export function parsePeers(raw: string): PeerArg[] {
  const out: PeerArg[] = [];
  const seen = new Set<string>();
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--peers entry "${entry}" must be id=http://host:port`);
    const id = entry.slice(0, eq).trim();
    const address = entry.slice(eq + 1).trim();
    if (!ID_RE.test(id)) throw new UsageError(`--peers entry "${entry}": invalid node id "${id}"`);
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new UsageError(`--peers entry "${entry}": "${address}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--peers entry "${entry}": the address must be http:// or https://`);
    }
    if (seen.has(id)) throw new UsageError(`--peers names node "${id}" twice`);
    seen.add(id);
    out.push({ id, address: url.origin });
  }
  return out;
}

const DNS_NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/**
 * `--discover-dns` / `--discover-srv`, at most one of them.
 * @throws UsageError on both, a malformed name, or A/AAAA discovery with `--port 0`.
 */
function discoverArg(
  dnsName: string | undefined,
  srvName: string | undefined,
  serversRaw: string | undefined,
  port: number,
): NodeConfig['discover'] {
  if (dnsName !== undefined && srvName !== undefined) {
    throw new UsageError('give --discover-dns or --discover-srv, not both');
  }
  const name = dnsName ?? srvName;
  if (name === undefined) {
    if (serversRaw !== undefined)
      throw new UsageError('--dns-servers needs --discover-dns or --discover-srv');
    return undefined;
  }
  const flag = dnsName === undefined ? '--discover-srv' : '--discover-dns';
  if (!DNS_NAME_RE.test(name)) throw new UsageError(`${flag} "${name}" is not a DNS name`);
  if (dnsName !== undefined && port === 0) {
    throw new UsageError('--discover-dns finds peers on this node’s --port, which must not be 0');
  }
  const records = dnsName === undefined ? 'srv' : 'a';
  if (serversRaw === undefined) return { records, name };
  const dnsServers = serversRaw
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  for (const server of dnsServers) {
    if (isIP(server.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1')) === 0) {
      throw new UsageError(`--dns-servers entry "${server}" must be an IP address, optionally with :port`);
    }
  }
  if (dnsServers.length === 0) throw new UsageError('--dns-servers is empty');
  return { records, name, dnsServers };
}

/**
 * Parses argv (without `node` and the script) and the environment.
 * @throws UsageError on an unknown flag, a missing value, or an invalid one.
 */
export function parseNodeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedArgs {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        id: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        peers: { type: 'string' },
        'discover-dns': { type: 'string' },
        'discover-srv': { type: 'string' },
        'dns-servers': { type: 'string' },
        secret: { type: 'string' },
        partitions: { type: 'string' },
        'table-type': { type: 'string' },
        'replication-factor': { type: 'string' },
        'replication-mode': { type: 'string' },
        'failure-timeout-ms': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'log-level': { type: 'string' },
        ...Object.fromEntries(LIMIT_FLAGS.map((f) => [f.flag, { type: 'string' as const }])),
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-client-auth': { type: 'string' },
        'client-token': { type: 'string', multiple: true },
        'read-only-client-token': { type: 'string', multiple: true },
        'client-host': { type: 'string' },
        'client-port': { type: 'string' },
        'print-client-token': { type: 'string' },
        'read-only': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) return { kind: 'help' };
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    const e = env[envName];
    return e === undefined || e === '' ? undefined : e;
  };
  const tokens = (flag: string, envName: string): string[] => {
    const v = values[flag];
    const list = Array.isArray(v) ? v : (env[envName] ?? '').split(',').filter((t) => t.trim() !== '');
    return list.map((raw) => {
      const t = raw.trim();
      if (t.length < 16 || /[\s,]/.test(t)) {
        throw new UsageError(`--${flag}: a token is at least 16 characters, without spaces or commas`);
      }
      return t;
    });
  };
  if (typeof values['print-client-token'] === 'string') {
    const secret = pick('secret', 'SUPERCACHE_SECRET');
    if (secret === undefined)
      throw new UsageError('--print-client-token needs --secret (or SUPERCACHE_SECRET)');
    try {
      return {
        kind: 'token',
        token: clientToken(secret, values['print-client-token'], { readOnly: values['read-only'] === true }),
      };
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }

  const id = pick('id', 'SUPERCACHE_NODE_ID');
  if (id === undefined) throw new UsageError('--id (or SUPERCACHE_NODE_ID) is required');
  if (!ID_RE.test(id)) throw new UsageError(`--id "${id}" must be 1-128 characters of A-Z a-z 0-9 . _ : -`);

  const secret = pick('secret', 'SUPERCACHE_SECRET');
  if (secret === undefined) throw new UsageError('--secret (or SUPERCACHE_SECRET) is required');

  const host = pick('host', 'SUPERCACHE_HOST') ?? '127.0.0.1';
  const portRaw = pick('port', 'SUPERCACHE_PORT');
  const port = portRaw === undefined ? 4000 : intArg('--port', portRaw, 0, 65_535);
  const partitionsRaw = pick('partitions', 'SUPERCACHE_PARTITIONS');
  const partitions = partitionsRaw === undefined ? 16 : intArg('--partitions', partitionsRaw, 1, 65_536);

  const tableType = (pick('table-type', 'SUPERCACHE_TABLE_TYPE') ?? 'set') as TableType;
  if (!TABLE_TYPES.includes(tableType)) {
    throw new UsageError(`--table-type must be one of ${TABLE_TYPES.join(', ')}, got "${tableType}"`);
  }
  const rfRaw = pick('replication-factor', 'SUPERCACHE_REPLICATION_FACTOR');
  const replicationFactor = rfRaw === undefined ? 1 : intArg('--replication-factor', rfRaw, 1, 7);
  const replicationMode = (pick('replication-mode', 'SUPERCACHE_REPLICATION_MODE') ??
    'async') as ReplicationModeArg;
  if (!REPLICATION_MODES.includes(replicationMode)) {
    throw new UsageError(
      `--replication-mode must be one of ${REPLICATION_MODES.join(', ')}, got "${replicationMode}"`,
    );
  }
  const ftRaw = pick('failure-timeout-ms', 'SUPERCACHE_FAILURE_TIMEOUT_MS');
  const failureTimeoutMs =
    ftRaw === undefined ? undefined : intArg('--failure-timeout-ms', ftRaw, 100, 3_600_000);
  const hbRaw = pick('heartbeat-ms', 'SUPERCACHE_HEARTBEAT_MS');
  const heartbeatMs = hbRaw === undefined ? undefined : intArg('--heartbeat-ms', hbRaw, 10, 600_000);
  if (heartbeatMs !== undefined && heartbeatMs * 3 > (failureTimeoutMs ?? 3000)) {
    throw new UsageError(
      `--heartbeat-ms (${heartbeatMs}) must be at most a third of --failure-timeout-ms (${failureTimeoutMs ?? 3000})`,
    );
  }
  const logLevel = (pick('log-level', 'SUPERCACHE_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const peers = parsePeers(pick('peers', 'SUPERCACHE_PEERS') ?? '').filter((p) => p.id !== id);
  const discover = discoverArg(
    pick('discover-dns', 'SUPERCACHE_DISCOVER_DNS'),
    pick('discover-srv', 'SUPERCACHE_DISCOVER_SRV'),
    pick('dns-servers', 'SUPERCACHE_DNS_SERVERS'),
    port,
  );
  const limits: Record<string, number | undefined> = {};
  for (const f of LIMIT_FLAGS) {
    const raw = pick(f.flag, f.env);
    limits[f.field] = raw === undefined ? undefined : intArg(`--${f.flag}`, raw, f.min, f.max);
  }
  const clientTokens = tokens('client-token', 'SUPERCACHE_CLIENT_TOKENS');
  const readOnlyClientTokens = tokens('read-only-client-token', 'SUPERCACHE_READ_ONLY_CLIENT_TOKENS');
  const clientHostRaw = pick('client-host', 'SUPERCACHE_CLIENT_HOST');
  const clientPortRaw = pick('client-port', 'SUPERCACHE_CLIENT_PORT');
  const clientListen =
    clientHostRaw === undefined && clientPortRaw === undefined
      ? undefined
      : {
          host: clientHostRaw ?? host,
          port: clientPortRaw === undefined ? 0 : intArg('--client-port', clientPortRaw, 0, 65_535),
        };
  const apiHost = clientListen?.host ?? host;
  if (clientTokens.length + readOnlyClientTokens.length === 0 && !isLoopback(apiHost)) {
    throw new UsageError(
      `the JSON client API would listen on ${apiHost} without authentication: give --client-token ` +
        '(or SUPERCACHE_CLIENT_TOKENS), or bind it to loopback with --client-host 127.0.0.1',
    );
  }
  const headers = limits.headersTimeoutMs ?? 10_000;
  const request = limits.requestTimeoutMs ?? Math.max(30_000, headers);
  if (request < headers) {
    throw new UsageError(
      `--request-timeout-ms (${request}) must be at least --headers-timeout-ms (${headers})`,
    );
  }
  const tls = parseTls(pick);
  if (tls !== undefined) {
    const plain = peers.find((p) => p.address.startsWith('http:'));
    if (plain !== undefined) {
      throw new UsageError(
        `--peers entry ${plain.id}=${plain.address} is http://: with --tls-cert, peers are https:// URLs`,
      );
    }
  }

  return {
    kind: 'run',
    config: {
      id,
      host,
      port,
      peers,
      ...(discover === undefined ? {} : { discover }),
      secret,
      partitions,
      tableType,
      replicationFactor,
      replicationMode,
      ...(failureTimeoutMs === undefined ? {} : { failureTimeoutMs }),
      ...(heartbeatMs === undefined ? {} : { heartbeatMs }),
      logLevel,
      ...limits,
      ...(tls === undefined ? {} : { tls }),
      clientTokens,
      readOnlyClientTokens,
      ...(clientListen === undefined ? {} : { clientListen }),
    },
  };
}

/** The TLS flags, checked together (the files are read at start-up). */
function parseTls(pick: (flag: string, env: string) => string | undefined): TlsArgs | undefined {
  const certFile = pick('tls-cert', 'SUPERCACHE_TLS_CERT');
  const keyFile = pick('tls-key', 'SUPERCACHE_TLS_KEY');
  const caFile = pick('tls-ca', 'SUPERCACHE_TLS_CA');
  const authRaw = pick('tls-client-auth', 'SUPERCACHE_TLS_CLIENT_AUTH');
  if (certFile === undefined) {
    if (keyFile !== undefined || caFile !== undefined || authRaw !== undefined) {
      throw new UsageError('--tls-key, --tls-ca and --tls-client-auth need --tls-cert');
    }
    return undefined;
  }
  if (keyFile === undefined) throw new UsageError('--tls-cert needs --tls-key');
  const clientAuth = (authRaw ?? (caFile === undefined ? 'none' : 'require')) as TlsClientAuth;
  if (!TLS_CLIENT_AUTH.includes(clientAuth)) {
    throw new UsageError(
      `--tls-client-auth must be one of ${TLS_CLIENT_AUTH.join(', ')}, got "${clientAuth}"`,
    );
  }
  if (clientAuth === 'require' && caFile === undefined) {
    throw new UsageError('--tls-client-auth require needs --tls-ca, the CA that signs the clients');
  }
  return { certFile, keyFile, ...(caFile === undefined ? {} : { caFile }), clientAuth };
}
