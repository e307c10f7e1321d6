/**
 * A harness for the cluster compliance suite (`@supercache/cluster`'s
 * `clusterSuite`) over real processes: every node is a child process
 * (`fixtures/suite-node.ts`, from source through tsx) with its tables,
 * talking HTTP on 127.0.0.1; the suite drives each node's tables by proxy
 * through authenticated `test.*` peer calls.
 *
 * It satisfies the suite's `ClusterHandle` structurally (no `events`: the
 * event test skips itself).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HttpTransport } from '@supercache/cluster';
import type { ClusterHandle, SuiteTable } from '@supercache/cluster/testing';
import { SuperCacheError, type TableType } from '@supercache/storage';
import { ROOT } from './process-cluster.js';
import { SUITE_TABLE_OPS } from './suite-ops.js';

interface TableDef {
  readonly name: string;
  readonly type: TableType;
  readonly placement: 'partitions' | 'shards';
  readonly numPartitions?: number;
  readonly localShards?: number;
  /** Copies of every key of a `'shards'` table (1-7). */
  readonly replicas?: number;
  readonly replicationMode?: 'async' | 'sync' | 'strong';
}

/** The suite's default tables (same as its `SUITE_TABLES`). */
export const DEFAULT_TABLES: readonly TableDef[] = [
  { name: 'set', type: 'set', placement: 'partitions', numPartitions: 16 },
  { name: 'oset', type: 'ordered_set', placement: 'partitions', numPartitions: 16 },
  { name: 'bag', type: 'bag', placement: 'partitions', numPartitions: 16 },
  { name: 'dbag', type: 'duplicate_bag', placement: 'partitions', numPartitions: 16 },
  { name: 'pets', type: 'set', placement: 'shards', localShards: 2 },
];

interface Child {
  readonly id: string;
  readonly proc: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | string>;
  readonly stderr: string[];
}

const TABLE_OPS = SUITE_TABLE_OPS;

/** A continuation handed out by a proxied `selectPage`. */
class RemoteContinuation {
  constructor(
    readonly token: number,
    readonly node: string,
  ) {}
}

/** A cluster of suite-node processes. */
export class ProcessHarness implements ClusterHandle {
  readonly #secret = randomBytes(12).toString('hex');
  readonly #children = new Map<string, Child>();
  readonly #everStarted: Array<{ id: string; address: string }> = [];
  readonly #client: HttpTransport;
  #clientStarted: Promise<void> | undefined;

  constructor() {
    this.#client = new HttpTransport({ nodeId: 'harness', secret: this.#secret, timeoutMs: 30_000 });
  }

  async #call<T>(id: string, method: string, body: unknown): Promise<T> {
    this.#clientStarted ??= this.#client.start();
    await this.#clientStarted;
    return this.#client.call<T>(id, method, body);
  }

  async start(
    id: string,
    options: {
      config?: Readonly<Record<string, unknown>>;
      tables?: readonly TableDef[];
      localShards?: Readonly<Record<string, number>>;
    } = {},
  ): Promise<void> {
    const tables = (options.tables ?? DEFAULT_TABLES).map((t) =>
      t.placement === 'shards'
        ? { ...t, localShards: options.localShards?.[t.name] ?? t.localShards ?? 1 }
        : t,
    );
    const args = {
      id,
      secret: this.#secret,
      peers: this.#everStarted.filter((p) => p.id !== id),
      tables,
      ...(options.config === undefined ? {} : { config: options.config }),
    };
    const proc = spawn(
      process.execPath,
      [
        '--conditions=@supercache/source',
        '--import',
        'tsx',
        join(ROOT, 'apps/node/test/fixtures/suite-node.ts'),
        JSON.stringify(args),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stderr: string[] = [];
    createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on('line', (l) => {
      stderr.push(l);
      if (stderr.length > 100) stderr.shift();
    });
    const exited = new Promise<number | string>((resolve) =>
      proc.once('exit', (c, s) => resolve(c ?? s ?? -1)),
    );
    let url = '';
    const outcome = await new Promise<{ ok: true } | { ok: false; error: Error }>((resolve) => {
      const timer = setTimeout(
        () => resolve({ ok: false, error: new Error(`node ${id} did not start in 60 s`) }),
        60_000,
      );
      createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        let e: { event?: string; url?: string; code?: string; message?: string };
        try {
          e = JSON.parse(line) as typeof e;
        } catch {
          return;
        }
        if (e.event === 'listening') {
          url = String(e.url);
          this.#client.setPeerAddress(id, url);
        } else if (e.event === 'ready') {
          clearTimeout(timer);
          resolve({ ok: true });
        } else if (e.event === 'error') {
          clearTimeout(timer);
          resolve({
            ok: false,
            error: new SuperCacheError(
              (e.code ?? 'SC_ERR_INTERNAL') as 'SC_ERR_INTERNAL',
              e.message ?? 'start failed',
            ),
          });
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        resolve({
          ok: false,
          error: new Error(`node ${id} exited (${code}) before it was ready\n${stderr.join('\n')}`),
        });
      });
    });
    if (!outcome.ok) {
      proc.kill('SIGKILL');
      throw outcome.error;
    }
    this.#children.set(id, { id, proc, url, exited, stderr });
    this.#everStarted.push({ id, address: url });
  }

  #child(id: string): Child {
    const c = this.#children.get(id);
    if (c === undefined) throw new Error(`no node ${id}`);
    return c;
  }

  async leave(id: string): Promise<void> {
    const c = this.#child(id);
    c.proc.kill('SIGTERM');
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), 60_000);
    const code = await c.exited;
    clearTimeout(timer);
    this.#children.delete(id);
    if (code !== 0) throw new Error(`node ${id} left with exit code ${code}\n${c.stderr.join('\n')}`);
  }

  /** Freezes (`SIGSTOP`) or wakes (`SIGCONT`) a node's process, as a long GC pause or a stalled VM does. */
  signal(id: string, signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child(id).proc.kill(signal);
  }

  async crash(id: string): Promise<void> {
    const c = this.#child(id);
    c.proc.kill('SIGKILL');
    await c.exited;
    this.#children.delete(id);
  }

  table(id: string, table: string): SuiteTable {
    const proxy = {} as Record<(typeof TABLE_OPS)[number], (...args: unknown[]) => Promise<unknown>>;
    for (const op of TABLE_OPS) {
      proxy[op] = async (...args: unknown[]) => {
        if (op === 'selectPage') {
          const first = args[0];
          const body =
            first instanceof RemoteContinuation
              ? { t: table, op, args: args.slice(1), token: first.token }
              : { t: table, op, args };
          const via = first instanceof RemoteContinuation ? first.node : id;
          const page = await this.#call<{ items: unknown[]; token?: number }>(via, 'test.op', body);
          return page.token === undefined
            ? { items: page.items }
            : { items: page.items, continuation: new RemoteContinuation(page.token, via) };
        }
        const r = await this.#call<{ v: unknown; u: boolean }>(id, 'test.op', { t: table, op, args });
        return r.u ? undefined : r.v;
      };
    }
    // Values come off the wire untyped: every op answers what the child's
    // real table answered, and the suite checks each value it reads.
    return proxy as unknown as SuiteTable;
  }

  members(id: string): Promise<readonly string[]> {
    return this.#call<string[]>(id, 'test.members', {});
  }

  ownedSize(id: string, table: string): Promise<number> {
    return this.#call<number>(id, 'test.ownedSize', { t: table });
  }

  async close(): Promise<void> {
    for (const c of this.#children.values()) c.proc.kill('SIGKILL');
    await Promise.all([...this.#children.values()].map((c) => c.exited));
    this.#children.clear();
    await this.#client.stop();
  }
}
