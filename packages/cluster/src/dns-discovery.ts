/**
 * Peer discovery through DNS: the A/AAAA records of a name (a Kubernetes
 * headless Service, a Consul name) or its SRV records become peer URLs,
 * resolved again on every call, and each URL is asked for its node id.
 */

import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { SuperCacheError } from '@supercache/storage';
import { request } from 'undici';
import { decode } from './codec.js';
import { clientToken, memberCredential } from './credentials.js';
import type { PeerInfo } from './node-options.js';
import { NODE_HEADER, PEER_ROUTES } from './protocol.js';

/** The part of `dns.promises.Resolver` discovery uses; inject one to pick the DNS servers. */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  resolveSrv(
    hostname: string,
  ): Promise<Array<{ name: string; port: number; priority: number; weight: number }>>;
}

/** Options of {@link dnsDiscovery} and {@link resolveDnsPeers}. */
export interface DnsDiscoveryOptions {
  /**
   * The DNS name to resolve. With `records: 'a'`, its A and AAAA records
   * (`supercache.default.svc.cluster.local`); with `records: 'srv'`, its SRV
   * records (`_supercache._tcp.supercache.default.svc.cluster.local`).
   */
  name: string;
  /** Which records to read. @defaultValue 'a' */
  records?: 'a' | 'srv';
  /** Port of the peers found through A/AAAA records (SRV records carry their own). @defaultValue 4000 */
  port?: number;
  /** URL scheme of the peers. @defaultValue 'http' */
  protocol?: 'http' | 'https';
  /**
   * How a found URL becomes a node id. `'ping'` asks the peer
   * (`GET /_supercache/v1/ping` with `secret`), so ids need no naming
   * convention; a peer that does not answer is left out until a later call.
   * `'hostname'` takes the first label of the SRV target
   * (`supercache-0.supercache.default.svc.cluster.local` is `supercache-0`,
   * a StatefulSet pod's name), which must then be the node's `--id`; SRV only.
   * @defaultValue 'ping'
   */
  identify?: 'ping' | 'hostname';
  /** The cluster secret, for `identify: 'ping'`. */
  secret?: string;
  /** The node id sent with identifying pings. @defaultValue 'discovery' */
  nodeId?: string;
  /** Timeout of one identifying ping, in ms. @defaultValue 2000 */
  timeoutMs?: number;
  /** The resolver. @defaultValue a `dns.promises.Resolver` on the system's DNS servers */
  resolver?: DnsResolver;
}

/** One peer URL found through DNS, with the host name it came from (SRV) when known. */
export interface DnsTarget {
  /** The peer's origin, `http://10.0.0.7:4000` or `http://[fd00::7]:4000`. */
  readonly url: string;
  /** The SRV target host name; undefined for A/AAAA records. */
  readonly hostname: string | undefined;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

function badConfig(message: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_CONFIG', `DNS discovery: ${message}`);
}

function hostPart(host: string): string {
  const bare = host.endsWith('.') ? host.slice(0, -1) : host;
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}

/** Resolves, treating "no such name" and "no records of this type" as an empty answer. */
async function records<T>(lookup: () => Promise<T[]>): Promise<T[]> {
  try {
    return await lookup();
  } catch (e) {
    if (NOT_FOUND.has((e as { code?: string }).code ?? '')) return [];
    throw new SuperCacheError('SC_ERR_PEER_UNAVAILABLE', `DNS lookup failed: ${(e as Error).message}`, {
      cause: e,
      retryable: true,
    });
  }
}

interface Checked {
  readonly name: string;
  readonly records: 'a' | 'srv';
  readonly port: number;
  readonly protocol: 'http' | 'https';
  readonly identify: 'ping' | 'hostname';
  readonly secret: string | undefined;
  readonly nodeId: string;
  readonly timeoutMs: number;
  readonly resolver: DnsResolver;
}

function check(options: DnsDiscoveryOptions, identifying: boolean): Checked {
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) {
    throw badConfig('name must be a DNS name of 1 to 253 characters');
  }
  const kind = options.records ?? 'a';
  if (kind !== 'a' && kind !== 'srv') throw badConfig(`records must be 'a' or 'srv', got ${String(kind)}`);
  const port = options.port ?? 4000;
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw badConfig('port must be an integer from 1 to 65535');
  const protocol = options.protocol ?? 'http';
  if (protocol !== 'http' && protocol !== 'https') throw badConfig("protocol must be 'http' or 'https'");
  const identify = options.identify ?? 'ping';
  if (identify !== 'ping' && identify !== 'hostname')
    throw badConfig("identify must be 'ping' or 'hostname'");
  if (identify === 'hostname' && kind !== 'srv') {
    throw badConfig("identify: 'hostname' needs records: 'srv' (A/AAAA records carry no host names)");
  }
  if (
    identifying &&
    identify === 'ping' &&
    (typeof options.secret !== 'string' || options.secret.length === 0)
  ) {
    throw badConfig("identify: 'ping' needs the cluster secret");
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= 2_147_483_647)) {
    throw badConfig('timeoutMs must be a positive integer');
  }
  return {
    name,
    records: kind,
    port,
    protocol,
    identify,
    secret: options.secret,
    nodeId: options.nodeId ?? 'discovery',
    timeoutMs,
    resolver: options.resolver ?? new dns.Resolver(),
  };
}

async function resolveChecked(c: Checked): Promise<DnsTarget[]> {
  const out = new Map<string, DnsTarget>();
  if (c.records === 'srv') {
    const srv = await records(() => c.resolver.resolveSrv(c.name));
    // Lower priority first, then heavier weight: the order the records ask for.
    srv.sort((x, y) => x.priority - y.priority || y.weight - x.weight);
    for (const r of srv) {
      const url = `${c.protocol}://${hostPart(r.name)}:${r.port}`;
      if (!out.has(url)) out.set(url, { url, hostname: r.name.replace(/\.$/, '') });
    }
  } else {
    const [v4, v6] = await Promise.all([
      records(() => c.resolver.resolve4(c.name)),
      records(() => c.resolver.resolve6(c.name)),
    ]);
    for (const ip of [...v4, ...v6]) {
      const url = `${c.protocol}://${hostPart(ip)}:${c.port}`;
      if (!out.has(url)) out.set(url, { url, hostname: undefined });
    }
  }
  return [...out.values()];
}

/**
 * The peer URLs the DNS name resolves to now.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on bad options;
 * `SC_ERR_PEER_UNAVAILABLE` (retryable) when the DNS server fails (a name
 * without records is an empty list, not an error).
 */
export function resolveDnsPeers(options: DnsDiscoveryOptions): Promise<DnsTarget[]> {
  return resolveChecked(check(options, false));
}

/**
 * The node id a peer answers with on `GET /_supercache/v1/ping`.
 * @throws SuperCacheError `SC_ERR_UNAUTHORIZED` on a wrong secret,
 * `SC_ERR_PEER_UNAVAILABLE` when the peer cannot be reached or answers
 * something else.
 */
export async function identifyPeer(
  url: string,
  secret: string,
  options: { nodeId?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 2000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let status: number;
  let bytes: Uint8Array;
  try {
    const response = await request(new URL(PEER_ROUTES.ping, url), {
      method: 'GET',
      // A member asks as itself; anyone else asks with a client token (ping needs no more).
      headers:
        options.nodeId === undefined
          ? { authorization: `Bearer ${clientToken(secret, 'discovery')}` }
          : {
              authorization: `Bearer ${memberCredential(secret, options.nodeId)}`,
              [NODE_HEADER]: options.nodeId,
            },
      signal,
    });
    status = response.statusCode;
    bytes = new Uint8Array(await response.body.arrayBuffer());
  } catch (e) {
    throw new SuperCacheError('SC_ERR_PEER_UNAVAILABLE', `cannot reach ${url}: ${(e as Error).message}`, {
      cause: e,
      retryable: true,
    });
  }
  if (status === 401) throw new SuperCacheError('SC_ERR_UNAUTHORIZED', `${url} refused the cluster secret`);
  let node: unknown;
  try {
    node = status === 200 ? (decode(bytes) as { node?: unknown } | null)?.node : undefined;
  } catch {
    node = undefined;
  }
  if (typeof node !== 'string' || node.length === 0) {
    throw new SuperCacheError('SC_ERR_PEER_UNAVAILABLE', `${url} is not a SuperCache peer (HTTP ${status})`, {
      retryable: true,
    });
  }
  return node;
}

/**
 * A ready `discover` for {@link ClusterNodeOptions}: every call resolves
 * the name again and returns the peers behind it (this node included; the
 * node skips itself). With `identify: 'ping'`, peers that do not answer the
 * ping are left out of this call's answer.
 *
 * ```ts
 * new ClusterNode({ nodeId, transport, discover: dnsDiscovery({ name: 'supercache.default.svc.cluster.local', secret }) });
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` at once on bad options; the
 * returned function rejects with `SC_ERR_PEER_UNAVAILABLE` when the DNS server fails.
 */
export function dnsDiscovery(options: DnsDiscoveryOptions): () => Promise<PeerInfo[]> {
  const c = check(options, true);
  return async () => {
    const targets = await resolveChecked(c);
    if (c.identify === 'hostname') {
      return targets.map((t) => ({ id: (t.hostname ?? t.url).split('.')[0]!, address: t.url }));
    }
    const secret = c.secret!;
    const found = await Promise.allSettled(
      targets.map(async (t) => ({
        id: await identifyPeer(t.url, secret, { nodeId: c.nodeId, timeoutMs: c.timeoutMs }),
        address: t.url,
      })),
    );
    const peers: PeerInfo[] = [];
    for (const r of found) {
      if (r.status === 'fulfilled') peers.push(r.value);
      else if (SuperCacheError.is(r.reason) && r.reason.code === 'SC_ERR_UNAUTHORIZED') throw r.reason;
    }
    return peers;
  };
}
