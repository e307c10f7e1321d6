/**
 * The router's {@link Backend} over a cluster: a command goes to the owner
 * of its partition data (this node directly, others over the transport),
 * fan-outs reach every host at one epoch and are merged, and cursors page
 * through per-node server-side cursors. Redirects (`SC_ERR_NOT_OWNER`,
 * `SC_ERR_STALE_EPOCH`) carry the receiver's view; the sender adopts it and
 * retries, a bounded number of times.
 */

import {
  type Backend,
  type BackendCursor,
  type CursorKind,
  type CursorPage,
  type LocalAccess,
  type RouteOptions,
  sleep,
  throwIfAborted,
} from '@supercache/router';
import { compareTerms, SuperCacheError, type TableType, type Term, type Tuple } from '@supercache/storage';
import type { DistributedTable, Owner, TableHost } from './distributed-table.js';
import { majority } from './replicator.js';
import { assertView, type View } from './view.js';

/** Writes that may run twice with the same outcome (safe to retry after a lost answer). */
const IDEMPOTENT_WRITES = new Set(['insert', 'delete', 'deleteObject', 'deleteObjects', 'updateElement']);

/** Shard commands whose first argument is a list of tuples that may span owners. */
const SPLITTABLE = new Set(['insert', 'insertNewMany', 'deleteObjects']);

const UNREACHABLE = new Set([
  'SC_ERR_PEER_UNAVAILABLE',
  'SC_ERR_TIMEOUT',
  'SC_ERR_NOT_STARTED',
  'SC_ERR_STOPPED',
]);

/**
 * How long a `local` read on a copy that has not applied this instance's
 * last write to the partition waits for it before asking the primary.
 */
const SESSION_WAIT_MS = 50;

/** {@link ClusterBackend} `#readOwnWrites`: the local copy is behind this instance's writes. */
const NOT_YET: unique symbol = Symbol('not yet');

/** Failures a failover ends: the owner does not answer, or this node lost its quorum for a moment. */
function waitsOutFailover(e: unknown): boolean {
  return SuperCacheError.is(e) && (UNREACHABLE.has(e.code) || e.code === 'SC_ERR_NO_QUORUM');
}

/**
 * The error of a write this node stopped retrying because the cluster put
 * the node out while it was under way: `SC_ERR_STALE_EPOCH` (retryable), its
 * outcome unknown when an earlier attempt was sent.
 */
function removedMeanwhile(node: string, epoch: number, tried: boolean): SuperCacheError {
  return new SuperCacheError(
    'SC_ERR_STALE_EPOCH',
    `node ${node} was removed from the cluster after this write began (at epoch ${epoch}); ` +
      `it is not tried again${tried ? ' (outcome unknown: an earlier attempt may have applied)' : ''}`,
    { retryable: true, ...(tried ? { details: { outcome: 'unknown' } } : {}) },
  );
}

/** What to do after a failed attempt. */
type Verdict = 'adopted' | 'backoff' | 'fail';

/** Routes one table's commands over the cluster. Created by {@link DistributedTable}. */
export class ClusterBackend implements Backend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly #host: TableHost;
  readonly #table: DistributedTable;
  /**
   * Read-your-writes session of this instance: per partition, the highest
   * sequence of a write acknowledged through it. A `local` read waits until
   * its copy applied that much, or goes to the primary.
   */
  readonly #session = new Map<number, number>();

  /** @internal */
  constructor(host: TableHost, table: DistributedTable) {
    this.#host = host;
    this.#table = table;
    this.type = table.spec.type;
    this.keyPos = table.spec.keyPos;
    this.local = {
      shards: table.shards,
      shardOf: (pd: Term) => table.shardOf(pd),
      ownedShards: () => table.ownedShards(),
    };
  }

  #backoff(attempt: number): number {
    const r = this.#host.retry;
    return Math.min(r.maxMs, r.baseMs * 2 ** attempt);
  }

  /** Classifies a failure; adopts a newer view carried by a redirect. */
  #classify(e: unknown, retryUnreachable: boolean, epochAtCall: number): Verdict {
    if (!SuperCacheError.is(e)) return 'fail';
    if (e.code === 'SC_ERR_NOT_OWNER' || e.code === 'SC_ERR_STALE_EPOCH') {
      this.#host.counters.redirects++;
      const v = e.details?.view;
      if (v !== undefined) {
        try {
          if (this.#host.offerView(assertView(v))) return 'adopted';
        } catch {
          // a malformed view is ignored; the heartbeat will converge
        }
      }
      return this.#host.view.epoch !== epochAtCall ? 'adopted' : 'backoff';
    }
    if (e.code === 'SC_ERR_HANDOFF' || e.code === 'SC_ERR_NO_TABLE' || e.code === 'SC_ERR_NO_QUORUM')
      return 'backoff';
    if (UNREACHABLE.has(e.code)) {
      if (!this.#host.started) return 'fail';
      if (retryUnreachable || this.#host.view.epoch !== epochAtCall) return 'backoff';
    }
    return 'fail';
  }

  async #retrying<T>(
    options: RouteOptions | undefined,
    retryUnreachable: boolean,
    attempt: (epoch: number) => Promise<T>,
    write = false,
  ): Promise<T> {
    const signal = options?.signal;
    const attempts = this.#host.retry.attempts;
    // A write made while this node was a member must not be tried again
    // once the cluster has put it out (a split): the others went on without
    // it, and an attempt after it rejoined would land after the writes they
    // acknowledged meanwhile. Requests it sent before are fenced by their
    // epoch on the receiver (assertNotFenced).
    const removals = this.#host.removals;
    const startEpoch = this.#host.view.epoch;
    // Past its attempts, an operation waiting out a failover (an owner that
    // does not answer, a lapsed quorum) keeps retrying until the cluster has
    // had the time to replace a dead node: callers see a pause, not an error.
    const failoverUntil = Date.now() + this.#host.failoverMs;
    let last: unknown;
    for (let i = 0; ; i++) {
      throwIfAborted(signal);
      if (!this.#host.started) {
        throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${this.#host.nodeId} is not started`);
      }
      if (write && this.#host.removals !== removals) {
        this.#host.counters.opsFailed++;
        throw removedMeanwhile(this.#host.nodeId, startEpoch, i > 0);
      }
      const epoch = this.#host.view.epoch;
      try {
        const r = await attempt(epoch);
        this.#host.counters.opsOk++;
        return r;
      } catch (e) {
        last = e;
        const verdict = this.#classify(e, retryUnreachable, epoch);
        if (verdict === 'fail') break;
        if (
          i >= attempts - 1 &&
          !(verdict === 'backoff' && waitsOutFailover(e) && Date.now() < failoverUntil)
        )
          break;
        this.#host.counters.retries++;
        if (verdict === 'backoff') await sleep(this.#backoff(i), signal);
      }
    }
    this.#host.counters.opsFailed++;
    throw last;
  }

  /** Runs a shard command on the owner of `partitionData`, retrying redirects. */
  exec(
    partitionData: Term,
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    if (this.#table.spec.placement === 'shards' && SPLITTABLE.has(name) && Array.isArray(args[0])) {
      const groups = this.#groupByOwner(args[0] as Tuple[]);
      if (groups.length > 1) return this.#execSplit(groups, name, args, options);
    }
    return this.#execAt({ pd: partitionData }, name, args, options);
  }

  /**
   * Runs a shard command on the owner of partition index `partition`
   * (`'partitions'` placement: SuperCache's `*PartitionByIdx` operations).
   */
  execPartition(
    partition: number,
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    try {
      this.#table.ownerOfPartition(partition);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#execAt({ p: partition }, name, args, options);
  }

  /** A shard command at partition data (`pd`) or at a partition index (`p`). */
  #execAt(
    at: { readonly pd: Term } | { readonly p: number },
    name: string,
    args: readonly unknown[],
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    let cmd: ReturnType<DistributedTable['shards']['registry']['get']>;
    try {
      cmd = this.#table.shards.registry.get(name);
    } catch (e) {
      return Promise.reject(e);
    }
    const idempotent = !cmd.write || (IDEMPOTENT_WRITES.has(name) && this.type !== 'duplicate_bag');
    const table = this.#table;
    const host = this.#host;
    const mode = options?.readMode;
    // Copy reads: 'partitions' tables, and replicated 'shards' tables (per replica group).
    const copyReads = table.spec.placement === 'partitions' || table.copies !== undefined;
    if (!cmd.write && mode !== undefined && mode !== 'primary' && copyReads) {
      return this.#retrying(options, true, async () => {
        const p = 'p' in at ? at.p : table.replicaPartOf(at.pd);
        const pd = 'p' in at ? null : at.pd;
        if (mode === 'local') {
          if (table.holdsCopyOf(p)) {
            const seen = await this.#readOwnWrites(p, () => table.readCopy(pd, name, args, p), options);
            if (seen !== NOT_YET) return seen;
          }
          return this.#readAtPrimary(at, name, args, options);
        }
        return this.#readQuorum(p, at, name, args, options);
      });
    }
    return this.#retrying(
      options,
      idempotent,
      async (epoch) => {
        const view = host.view;
        let owner: Owner;
        try {
          owner = 'p' in at ? table.ownerOfPartition(at.p, view) : table.ownerOf(at.pd, view);
        } catch (e) {
          if (SuperCacheError.is(e) && e.code === 'SC_ERR_NO_TABLE') await this.#awaitHosting();
          throw e;
        }
        return this.#runAt(owner, at, name, args, epoch, cmd.write, idempotent, options);
      },
      cmd.write,
    );
  }

  /** Runs a shard command on `owner`: here directly, or as one `sc.exec` call. */
  #runAt(
    owner: Owner,
    at: { readonly pd: Term } | { readonly p: number },
    name: string,
    args: readonly unknown[],
    epoch: number,
    write: boolean,
    idempotent: boolean,
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    const table = this.#table;
    const host = this.#host;
    const token = write && table.replicator !== undefined;
    // The session is kept per replication partition: a replica group for a 'shards' table.
    const part =
      token && table.copies !== undefined && !('p' in at) ? table.replicaPartOf(at.pd) : owner.shard;
    if (owner.node === host.nodeId) {
      const run =
        'p' in at
          ? table.serveShard(null, name, args, undefined, at.p, token)
          : table.serveShard(at.pd, name, args, undefined, undefined, token);
      return token ? run.then((r) => this.#noteWrite(part, r)) : run;
    }
    // A node that has lost its quorum does not forward either: it answers
    // SC_ERR_NO_QUORUM at once (retried until the failover window ends)
    // instead of waiting on an owner it cannot reach, and a write it could
    // not deliver is not left retrying to land after the split heals.
    host.assertServing(table.name);
    host.counters.remoteCalls++;
    const body: Record<string, unknown> = { t: table.name, e: epoch, c: name, a: args };
    if ('p' in at) body.p = at.p;
    else body.pd = at.pd;
    if (write) body.v = host.hlc.now();
    if (token) body.w = true;
    const call = host.transport.call(owner.node, 'sc.exec', body, {
      idempotent,
      timeoutMs: host.callTimeoutMs,
      ...(options?.signal === undefined ? {} : { signal: options.signal }),
    });
    return token ? call.then((r) => this.#noteWrite(part, r)) : call;
  }

  /** Records the token of an acknowledged write (`[result, seq]`) and returns the result. */
  #noteWrite(p: number, reply: unknown): unknown {
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[1] !== 'number') {
      throw new SuperCacheError(
        'SC_ERR_INTERNAL',
        `table ${this.#table.name}: a write answered without its token`,
      );
    }
    const seq = reply[1] as number;
    if (seq > (this.#session.get(p) ?? -1)) this.#session.set(p, seq);
    return reply[0];
  }

  /**
   * Reads this node's copy of `p` once it applied every write this instance
   * had acknowledged there, waiting at most {@link SESSION_WAIT_MS}; answers
   * {@link NOT_YET} when the copy stays behind (the caller asks the primary).
   */
  async #readOwnWrites(
    p: number,
    read: () => [number, unknown],
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    const need = this.#session.get(p);
    const deadline = Date.now() + SESSION_WAIT_MS;
    for (;;) {
      const [seq, value] = read();
      if (need === undefined || seq >= need) return value;
      if (Date.now() >= deadline || !this.#table.holdsCopyOf(p)) {
        this.#host.counters.sessionRedirects++;
        return NOT_YET;
      }
      await sleep(2, options?.signal);
    }
  }

  /** A read at the primary, in one attempt (the caller retries). */
  async #readAtPrimary(
    at: { readonly pd: Term } | { readonly p: number },
    name: string,
    args: readonly unknown[],
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    const table = this.#table;
    const view = this.#host.view;
    const owner = 'p' in at ? table.ownerOfPartition(at.p, view) : table.ownerOf(at.pd, view);
    return this.#runAt(owner, at, name, args, view.epoch, false, true, options);
  }

  /**
   * A quorum read: asks every copy of partition `p`, waits for a majority,
   * and answers with the copy that applied the highest sequence (the newest
   * state of every key of the partition). Copies found behind are counted;
   * their primary's probe catches them up.
   */
  async #readQuorum(
    p: number,
    at: { readonly pd: Term } | { readonly p: number },
    name: string,
    args: readonly unknown[],
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    const table = this.#table;
    const host = this.#host;
    const view = host.view;
    const copies = table.replicasOf(p, view);
    if (copies.length === 0) return this.#readAtPrimary(at, name, args, options);
    const pd = 'p' in at ? null : at.pd;
    const need = majority(copies.length);
    const answers = await new Promise<Array<[number, unknown]>>((resolve, reject) => {
      const got: Array<[number, unknown]> = [];
      let failed = 0;
      let last: unknown;
      for (const c of copies) {
        const ask: Promise<[number, unknown]> =
          c === host.nodeId
            ? Promise.resolve().then(() => table.readCopy(pd, name, args, p))
            : host.transport.call<[number, unknown]>(
                c,
                'sc.readCopy',
                { t: table.name, e: view.epoch, c: name, a: args, p, pd },
                {
                  idempotent: true,
                  timeoutMs: host.callTimeoutMs,
                  ...(options?.signal === undefined ? {} : { signal: options.signal }),
                },
              );
        ask.then(
          (a) => {
            got.push(a);
            if (got.length === need) resolve(got.slice());
          },
          (e: unknown) => {
            failed++;
            last = e;
            if (copies.length - failed < need) {
              reject(
                new SuperCacheError(
                  'SC_ERR_QUORUM_TIMEOUT',
                  `table ${table.name}, partition ${p}: only ${copies.length - failed} of ${copies.length} copies answered a quorum read`,
                  { retryable: true, cause: last },
                ),
              );
            }
          },
        );
      }
    });
    let best = answers[0] as [number, unknown];
    for (const a of answers) if (a[0] > best[0]) best = a;
    for (const a of answers) if (a[0] < best[0]) host.counters.readRepairs++;
    return best[1];
  }

  /**
   * Runs a node command over the given partition indexes only, on their
   * owners, and merges the results as {@link ClusterBackend.broadcast} does.
   */
  broadcastPartitions(
    partitions: readonly number[],
    name: string,
    args: readonly unknown[],
    options?: RouteOptions,
  ): Promise<unknown> {
    try {
      for (const p of partitions) this.#table.ownerOfPartition(p);
    } catch (e) {
      return Promise.reject(e);
    }
    const table = this.#table;
    return this.#fanOut(name, args, options, (view) => {
      const byOwner = new Map<string, number[]>();
      for (const p of partitions) {
        const o = table.ownerOfPartition(p, view).node;
        let l = byOwner.get(o);
        if (l === undefined) byOwner.set(o, (l = []));
        l.push(p);
      }
      return [...byOwner];
    });
  }

  async #awaitHosting(): Promise<void> {
    // A table opened here but not yet hosted anywhere: wait for this node to host it.
    await Promise.race([this.#table.ready(), sleep(this.#host.retry.maxMs, undefined)]).catch(() => {});
  }

  #groupByOwner(objs: readonly Tuple[]): Array<{ pd: Term; objs: Tuple[] }> {
    const pp = this.#table.spec.partitionPos;
    const groups = new Map<string, { pd: Term; objs: Tuple[] }>();
    for (const o of objs) {
      const pd = o[pp] as Term;
      let key: string;
      try {
        const w = this.#table.ownerOf(pd);
        key = `${w.shard}:${w.node}`;
      } catch {
        key = '';
      }
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { pd, objs: [] }));
      g.objs.push(o);
    }
    return [...groups.values()];
  }

  async #execSplit(
    groups: Array<{ pd: Term; objs: Tuple[] }>,
    name: string,
    args: readonly unknown[],
    options: RouteOptions | undefined,
  ): Promise<unknown> {
    const rest = args.slice(1);
    if (name !== 'insertNewMany') {
      await Promise.all(groups.map((g) => this.exec(g.pd, name, [g.objs, ...rest], options)));
      return true;
    }
    // As TableRouter does across partitions: check every key, then write each
    // share; undo the shares written if a key appeared in between.
    const kp = this.keyPos;
    const present = await Promise.all(
      groups.map((g) => this.exec(g.pd, 'anyMember', [g.objs.map((o) => o[kp] as Term)], options)),
    );
    if (present.some((p) => p === true)) return false;
    const done: typeof groups = [];
    for (const g of groups) {
      const ok = await this.exec(g.pd, 'insertNewMany', [g.objs, ...rest], options);
      if (ok !== true) {
        await Promise.all(done.map((d) => this.exec(d.pd, 'deleteObjects', [d.objs], options)));
        return false;
      }
      done.push(g);
    }
    return true;
  }

  /** Runs a node command on every host at one epoch and merges the results. */
  broadcast(name: string, args: readonly unknown[], options?: RouteOptions): Promise<unknown> {
    const table = this.#table;
    return this.#fanOut(name, args, options, (view) => table.hosts(view).map((h) => [h, undefined]));
  }

  /**
   * Runs a node command at one epoch on the hosts `targets` names (each
   * with the partition indexes it should cover, or all it owns) and merges.
   */
  #fanOut(
    name: string,
    args: readonly unknown[],
    options: RouteOptions | undefined,
    targets: (view: View) => Array<readonly [string, readonly number[] | undefined]>,
  ): Promise<unknown> {
    let merge: ReturnType<DistributedTable['shards']['merger']>;
    let write: boolean;
    try {
      merge = this.#table.shards.merger(name);
      write = this.#table.shards.registry.get(name).write;
    } catch (e) {
      return Promise.reject(e);
    }
    const table = this.#table;
    const host = this.#host;
    return this.#retrying(
      options,
      !write,
      async (epoch) => {
        const settled = await Promise.allSettled(
          targets(host.view).map(([h, only]) => {
            if (h === host.nodeId) return table.serveNode(name, args, { from: h, epoch }, only);
            host.counters.remoteCalls++;
            const body: Record<string, unknown> = { t: table.name, e: epoch, c: name, a: args };
            if (only !== undefined) body.s = only;
            return host.transport.call(h, 'sc.node', body, {
              idempotent: !write,
              timeoutMs: host.callTimeoutMs,
              ...(options?.signal === undefined ? {} : { signal: options.signal }),
            });
          }),
        );
        const values: unknown[] = [];
        let failure: unknown;
        for (const r of settled) {
          if (r.status === 'fulfilled') values.push(r.value);
          else if (failure === undefined || isRedirect(r.reason)) failure = r.reason;
        }
        if (failure !== undefined) throw failure;
        return merge(values, args, { type: this.type });
      },
      write,
    );
  }

  /** Opens per-node server-side cursors at one epoch. */
  openCursor(kind: CursorKind, arg: unknown, options?: RouteOptions): Promise<BackendCursor> {
    const table = this.#table;
    const host = this.#host;
    return this.#retrying(options, true, async (epoch) => {
      const view = host.view;
      const hosts = table.hosts(view);
      const settled = await Promise.allSettled(
        hosts.map(async (h): Promise<CursorPart> => {
          if (h === host.nodeId) {
            return {
              node: h,
              id: await table.openCursor(kind, arg, { from: h, epoch }),
              buf: [],
              pos: 0,
              done: false,
            };
          }
          host.counters.remoteCalls++;
          const r = await host.transport.call<{ id: number }>(
            h,
            'sc.cursorOpen',
            { t: table.name, e: epoch, k: kind, a: arg },
            { idempotent: true, timeoutMs: host.callTimeoutMs },
          );
          return { node: h, id: r.id, buf: [], pos: 0, done: false };
        }),
      );
      const parts: CursorPart[] = [];
      let failure: unknown;
      for (const s of settled) {
        if (s.status === 'fulfilled') parts.push(s.value);
        else if (failure === undefined || isRedirect(s.reason)) failure = s.reason;
      }
      const cursor = new ClusterCursor(
        host,
        table,
        parts,
        this.type === 'ordered_set',
        kind === 'selectReverse',
      );
      if (failure !== undefined) {
        await cursor.close();
        throw failure;
      }
      return cursor;
    });
  }
}

function isRedirect(e: unknown): boolean {
  return SuperCacheError.is(e) && (e.code === 'SC_ERR_NOT_OWNER' || e.code === 'SC_ERR_STALE_EPOCH');
}

interface CursorPart {
  readonly node: string;
  readonly id: number;
  buf: Array<readonly [Term, unknown]>;
  pos: number;
  /** True once the node said nothing follows its buffer. */
  done: boolean;
}

/**
 * Pages through one server-side cursor per node. Unordered tables read node
 * after node; `ordered_set` merges the nodes' pages lazily by key, holding at
 * most one page per node.
 */
class ClusterCursor implements BackendCursor {
  readonly #host: TableHost;
  readonly #table: DistributedTable;
  readonly #parts: CursorPart[];
  readonly #ordered: boolean;
  readonly #sign: number;
  #current = 0;
  #closed = false;

  constructor(
    host: TableHost,
    table: DistributedTable,
    parts: CursorPart[],
    ordered: boolean,
    reverse: boolean,
  ) {
    this.#host = host;
    this.#table = table;
    this.#parts = parts;
    this.#ordered = ordered;
    this.#sign = reverse ? -1 : 1;
  }

  async #fetch(p: CursorPart, limit: number, options: RouteOptions | undefined): Promise<void> {
    throwIfAborted(options?.signal);
    let page: CursorPage;
    if (p.node === this.#host.nodeId) {
      page = this.#table.cursorNext(p.id, limit);
    } else {
      this.#host.counters.remoteCalls++;
      try {
        page = await this.#host.transport.call<CursorPage>(
          p.node,
          'sc.cursorNext',
          { t: this.#table.name, id: p.id, n: limit },
          {
            timeoutMs: this.#host.callTimeoutMs,
            ...(options?.signal === undefined ? {} : { signal: options.signal }),
          },
        );
      } catch (e) {
        // A host that has left the view handed everything it held to others:
        // its part ends here (a cursor across a view change may miss keys
        // that moved). A member that fails is an error.
        if (this.#host.view.members.includes(p.node)) throw e;
        page = { items: [], done: true };
      }
    }
    p.buf = page.items;
    p.pos = 0;
    p.done = page.done;
  }

  async next(limit: number, options?: RouteOptions): Promise<CursorPage> {
    if (this.#closed) return { items: [], done: true };
    const out: Array<readonly [Term, unknown]> = [];
    if (!this.#ordered) {
      while (out.length < limit && this.#current < this.#parts.length) {
        const p = this.#parts[this.#current] as CursorPart;
        if (p.pos < p.buf.length) {
          out.push(p.buf[p.pos++] as readonly [Term, unknown]);
        } else if (p.done) {
          this.#current++;
        } else {
          await this.#fetch(p, limit - out.length, options);
        }
      }
      // Skip exhausted parts so `done` is exact when nothing follows.
      while (this.#current < this.#parts.length) {
        const p = this.#parts[this.#current] as CursorPart;
        if (p.pos < p.buf.length || !p.done) break;
        this.#current++;
      }
      const done = this.#current >= this.#parts.length;
      if (done) this.#closed = true;
      return { items: out, done };
    }
    while (out.length < limit) {
      const empty = this.#parts.filter((p) => p.pos >= p.buf.length && !p.done);
      if (empty.length > 0) await Promise.all(empty.map((p) => this.#fetch(p, limit, options)));
      let best: CursorPart | undefined;
      for (const p of this.#parts) {
        if (p.pos >= p.buf.length) continue;
        if (
          best === undefined ||
          this.#sign *
            compareTerms(
              (p.buf[p.pos] as readonly [Term, unknown])[0],
              (best.buf[best.pos] as readonly [Term, unknown])[0],
            ) <
            0
        ) {
          best = p;
        }
      }
      if (best === undefined) break;
      out.push(best.buf[best.pos++] as readonly [Term, unknown]);
    }
    const done = this.#parts.every((p) => p.done && p.pos >= p.buf.length);
    if (done) this.#closed = true;
    return { items: out, done };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(
      this.#parts
        .filter((p) => !p.done)
        .map(async (p) => {
          if (p.node === this.#host.nodeId) this.#table.cursorClose(p.id);
          else await this.#host.transport.call(p.node, 'sc.cursorClose', { t: this.#table.name, id: p.id });
        }),
    );
  }
}
