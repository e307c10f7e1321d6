/**
 * A routing client of a SuperCache cluster that speaks the peer protocol
 * itself: it pulls the view from a node, computes each key's owner exactly
 * as the nodes do (partition = hash mod numPartition, owner = rendezvous
 * primary among the table's hosts), and sends `sc.exec` straight to the
 * owner over an `HttpTransport` — so calls to one node in one tick share one
 * batched MessagePack request. A redirect (`SC_ERR_NOT_OWNER`) carries the
 * newer view; the client adopts it and retries.
 *
 * It joins nothing and hosts nothing, and holds a client token, not the
 * cluster secret: the nodes let it run data-plane commands only. The
 * benchmark's driver.
 */

import { HttpTransport, hostsOf, type View } from '@supercache/cluster';
import { computeAssignment, createPartitioner, type Partitioner } from '@supercache/partition';
import { SuperCacheError, type Term, type Tuple } from '@supercache/storage';

/** Options of a {@link PeerClient}. */
export interface PeerClientOptions {
  /** A client token (`clientToken(secret, name)`): a client, not a member, so it cannot change views. */
  readonly token: string;
  /** Any node to fetch the view from: `{ id, url }`. */
  readonly seed: { readonly id: string; readonly url: string };
  /** The table's cluster-wide name. @defaultValue 'supercache.main' (SuperCache's tuple table) */
  readonly table?: string;
  /** Keep-alive connections per node. @defaultValue 8 */
  readonly connections?: number;
}

export class PeerClient {
  readonly #transport: HttpTransport;
  readonly #seed: string;
  readonly #table: string;
  #view: View | undefined;
  #primaries: readonly string[] = [];
  #partitioner: Partitioner | undefined;
  /** Redirects received (each one a retry). */
  redirects = 0;

  constructor(options: PeerClientOptions) {
    this.#transport = new HttpTransport({
      nodeId: `bench-client-${process.pid}`,
      clientToken: options.token,
      peers: { [options.seed.id]: options.seed.url },
      connections: options.connections ?? 8,
    });
    this.#seed = options.seed.id;
    this.#table = options.table ?? 'supercache.main';
  }

  async start(): Promise<void> {
    await this.#transport.start();
    this.#adopt((await this.#transport.call(this.#seed, 'sc.view', {})) as View);
  }

  async stop(): Promise<void> {
    await this.#transport.stop();
  }

  /** Transport counters (HTTP requests, calls per batch). */
  stats(): ReturnType<HttpTransport['stats']> {
    return this.#transport.stats();
  }

  #adopt(view: View): boolean {
    if (this.#view !== undefined && view.epoch <= this.#view.epoch) return false;
    const spec = view.tables[this.#table];
    if (spec === undefined) throw new Error(`the cluster has no table ${this.#table}`);
    this.#view = view;
    for (const m of view.members) this.#transport.setPeerAddress(m, view.addresses[m] ?? m);
    this.#partitioner = createPartitioner({ numPartitions: spec.numPartitions });
    const hosts = hostsOf(view, this.#table);
    this.#primaries = computeAssignment(spec.numPartitions, hosts, 1).owners.map((o) => o[0] as string);
    return true;
  }

  async #exec(pd: Term, command: string, args: readonly unknown[], idempotent: boolean): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const view = this.#view as View;
      const owner = this.#primaries[(this.#partitioner as Partitioner).partitionOf(pd)] as string;
      try {
        return await this.#transport.call(
          owner,
          'sc.exec',
          { t: this.#table, e: view.epoch, pd, c: command, a: args },
          { idempotent },
        );
      } catch (e) {
        if (attempt >= 8 || !SuperCacheError.is(e)) throw e;
        if (e.code === 'SC_ERR_NOT_OWNER' || e.code === 'SC_ERR_STALE_EPOCH') {
          this.redirects++;
          const v = e.details?.view as View | undefined;
          if (v === undefined || !this.#adopt(v)) await new Promise((r) => setTimeout(r, 5 * 2 ** attempt));
          continue;
        }
        if (e.code === 'SC_ERR_HANDOFF' || e.retryable) {
          await new Promise((r) => setTimeout(r, 5 * 2 ** attempt));
          continue;
        }
        throw e;
      }
    }
  }

  /** The tuples at `key` (partitioned by the key). */
  get(key: Term): Promise<Tuple[]> {
    return this.#exec(key, 'lookup', [key], true) as Promise<Tuple[]>;
  }

  /** Writes one tuple (partitioned by its first element). */
  async put(tuple: Tuple): Promise<void> {
    await this.#exec(tuple[0] as Term, 'insert', [[tuple]], true);
  }
}
