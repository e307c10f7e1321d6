/**
 * A cluster of real `supercache-node` processes on 127.0.0.1, run from
 * source through tsx (no build needed), plus the load loop and checks the
 * multi-process tests share.
 */

import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonClient } from '../src/json-client.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Polls `check` until it returns true, at most `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Real node processes sharing one secret. */
export class ProcessCluster {
  readonly secret: string = randomBytes(12).toString('hex');
  readonly nodes = new Map<string, NodeProcess>();
  readonly clients = new Map<string, JsonClient>();
  readonly partitions: number;

  constructor(partitions = 16) {
    this.partitions = partitions;
  }

  /** Starts node `id`, joining through every running node, and waits until it is ready. */
  async start(id: string): Promise<NodeProcess> {
    const peers: Record<string, string> = {};
    for (const [p, n] of this.nodes) peers[p] = n.url;
    const node = await spawnNode(sourceCliCommand(ROOT), {
      id,
      secret: this.secret,
      peers,
      partitions: this.partitions,
      logLevel: 'warn',
    });
    this.nodes.set(id, node);
    this.clients.set(id, new JsonClient(node.url, { connections: 8 }));
    await node.ready;
    return node;
  }

  node(id: string): NodeProcess {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  client(id: string): JsonClient {
    const c = this.clients.get(id);
    if (c === undefined) throw new Error(`no client for ${id}`);
    return c;
  }

  /** Graceful leave: SIGTERM, then wait for the exit code. */
  async leave(id: string): Promise<number | string> {
    const code = await this.node(id).stop(60_000);
    await this.forget(id);
    return code;
  }

  /** Crash: SIGKILL. */
  async crash(id: string): Promise<void> {
    await this.node(id).kill();
    await this.forget(id);
  }

  async #forgetClient(id: string): Promise<void> {
    await this.clients.get(id)?.close();
    this.clients.delete(id);
  }

  async forget(id: string): Promise<void> {
    this.nodes.delete(id);
    await this.#forgetClient(id);
  }

  /** Members in the view of node `id`. */
  async members(id: string): Promise<string[]> {
    return (await this.client(id).health()).members.map((m) => m.id);
  }

  /** Tuples node `id` holds in the main table. */
  async size(id: string): Promise<number> {
    return (await this.client(id).stats()).size;
  }

  /** Kills every process still running. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.clients.keys()].map((id) => this.#forgetClient(id)));
    await Promise.allSettled([...this.nodes.values()].map((n) => n.kill()));
    this.nodes.clear();
  }

  /** The stderr tail of every node, for failure messages. */
  logs(): string {
    return [...this.nodes.values()].map((n) => `[${n.id}]\n${n.stderr.slice(-15).join('\n')}`).join('\n');
  }
}

/** Result of {@link loadLoop}. */
export interface LoadResult {
  ops: number;
  writes: number;
  reads: number;
  deletes: number;
  misses: string[];
  errors: string[];
  /** Last acknowledged state of every key: a value, or null once deleted. */
  model: Map<string, number | null>;
}

/**
 * Workers that write, delete and read their own keys through the given
 * nodes until `done()` (and at least `minOps`), bounded by `maxOps` and
 * `maxMs`. A read must return the worker's last acknowledged write, or
 * nothing after its last acknowledged delete.
 */
export async function loadLoop(
  c: ProcessCluster,
  nodes: () => readonly string[],
  done: () => boolean,
  opts: {
    seed: number;
    workers: number;
    keysPerWorker: number;
    minOps: number;
    maxOps: number;
    maxMs: number;
  },
): Promise<LoadResult> {
  const result: LoadResult = {
    ops: 0,
    writes: 0,
    reads: 0,
    deletes: 0,
    misses: [],
    errors: [],
    model: new Map(),
  };
  const started = Date.now();
  const running = () =>
    result.ops < opts.maxOps && Date.now() - started < opts.maxMs && (!done() || result.ops < opts.minOps);
  const worker = async (w: number) => {
    let s = (opts.seed * 7919 + w * 104729) >>> 0;
    const rnd = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let version = 0;
    while (running()) {
      const ids = nodes();
      const via = ids[Math.floor(rnd() * ids.length)] as string;
      const k = `s${opts.seed}w${w}-${Math.floor(rnd() * opts.keysPerWorker)}`;
      const dice = rnd();
      result.ops++;
      try {
        const client = c.client(via);
        if (dice < 0.45) {
          version++;
          await client.put([k, version]);
          result.model.set(k, version);
          result.writes++;
        } else if (dice < 0.55) {
          await client.delete(k);
          result.model.set(k, null);
          result.deletes++;
        } else {
          result.reads++;
          const got = await client.get(k);
          const want = result.model.get(k);
          if (want === undefined) continue;
          const expected = want === null ? [] : [[k, want]];
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            result.misses.push(
              `${k} via ${via}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`,
            );
          }
        }
      } catch (e) {
        result.errors.push(`${k} via ${via}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, (_v, w) => worker(w)));
  return result;
}

/** Reads every key of a model through each node; returns the mismatches. */
export async function verifyModel(
  c: ProcessCluster,
  ids: readonly string[],
  model: ReadonlyMap<string, number | null>,
): Promise<string[]> {
  const wrong: string[] = [];
  for (const id of ids) {
    const client = c.client(id);
    await Promise.all(
      [...model].map(async ([k, v]) => {
        const got = await client.get(k);
        const expected = v === null ? [] : [[k, v]];
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          wrong.push(`${k} via ${id}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
        }
      }),
    );
  }
  return wrong;
}
