/**
 * A cluster of real `supercache-node` processes on 127.0.0.1, run from
 * source through tsx (no build needed), plus the load loop and checks the
 * multi-process tests share.
 */

import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type LoadResult,
  type LoadTarget,
  loadLoop as sharedLoadLoop,
  verifyModel as sharedVerifyModel,
} from '@supercache/cluster/testing';
import { JsonClient } from '../src/json-client.js';
import { type NodeCommand, type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';

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

/** Where and how each node runs, for a cluster outside 127.0.0.1 (see netns.ts). */
export interface NodePlacement {
  /** The command that starts node `id`. @defaultValue the CLI from source */
  readonly command?: (id: string) => NodeCommand;
  /** The address node `id` listens on. @defaultValue 127.0.0.1 */
  readonly host?: (id: string) => string;
  /** The URL the test's client uses for node `id` listening on `url`. @defaultValue `url` */
  readonly clientUrl?: (id: string, url: string) => string | Promise<string>;
}

/** Real node processes sharing one secret. */
export class ProcessCluster {
  readonly secret: string = randomBytes(12).toString('hex');
  readonly nodes = new Map<string, NodeProcess>();
  readonly clients = new Map<string, JsonClient>();
  readonly partitions: number;
  /** CLI flags every node of this cluster gets (e.g. `--replication-factor 3`). */
  readonly extraArgs: readonly string[];
  readonly #clientTimeoutMs: number | undefined;
  readonly #placement: NodePlacement;
  /** Bearer token of every node's client API (`--client-token`), sent by the clients; none: open on loopback. */
  readonly clientToken: string | undefined;

  constructor(
    partitions = 16,
    options: {
      extraArgs?: readonly string[];
      clientTimeoutMs?: number;
      placement?: NodePlacement;
      clientToken?: string;
    } = {},
  ) {
    this.partitions = partitions;
    this.clientToken = options.clientToken;
    this.extraArgs = [
      ...(options.extraArgs ?? []),
      ...(options.clientToken === undefined ? [] : ['--client-token', options.clientToken]),
    ];
    this.#clientTimeoutMs = options.clientTimeoutMs;
    this.#placement = options.placement ?? {};
  }

  /** Starts node `id`, joining through every running node, and waits until it is ready. */
  async start(id: string): Promise<NodeProcess> {
    const peers: Record<string, string> = {};
    for (const [p, n] of this.nodes) peers[p] = n.url;
    const node = await spawnNode(this.#placement.command?.(id) ?? sourceCliCommand(ROOT), {
      id,
      ...(this.#placement.host === undefined ? {} : { host: this.#placement.host(id) }),
      secret: this.secret,
      peers,
      partitions: this.partitions,
      logLevel: 'warn',
      extraArgs: this.extraArgs,
    });
    this.nodes.set(id, node);
    this.clients.set(
      id,
      new JsonClient((await this.#placement.clientUrl?.(id, node.url)) ?? node.url, {
        connections: 8,
        ...(this.#clientTimeoutMs === undefined ? {} : { timeoutMs: this.#clientTimeoutMs }),
        ...(this.clientToken === undefined ? {} : { token: this.clientToken }),
      }),
    );
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

/**
 * The shared load loop's operations over the nodes' JSON client API (the
 * loop and the model check are the cluster suite's own, so both harnesses
 * judge misses and lost writes the same way).
 */
export function clientTarget(c: ProcessCluster): LoadTarget {
  return {
    put: (via, tuple) => c.client(via).put(tuple),
    remove: (via, key) => c.client(via).delete(key),
    get: (via, key) => c.client(via).get(key),
  };
}

/** {@link sharedLoadLoop} over a process cluster's JSON API; keys are prefixed by the seed. */
export function loadLoop(
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
  return sharedLoadLoop(clientTarget(c), nodes, done, { ...opts, keyPrefix: `s${opts.seed}` });
}

/** Reads every key of a model through each node; returns the mismatches. */
export function verifyModel(
  c: ProcessCluster,
  ids: readonly string[],
  model: ReadonlyMap<string, number | null>,
): Promise<string[]> {
  return sharedVerifyModel(clientTarget(c), ids, model);
}
