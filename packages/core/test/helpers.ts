/** Shared test helpers: error-code assertions and a manual clock. */

import { LocalBackend } from '@supercache/router';
import { SuperCacheError } from '@supercache/storage';
import { expect } from 'vitest';
import type {
  ClusterProvider,
  ClusterProviderConfig,
  ClusterTableSpec,
  ScopedBackend,
} from '../src/index.js';

/** Asserts that `fn` throws (or that the promise rejects) with a SuperCacheError of `code`. */
export async function expectCode(
  fn: Promise<unknown> | (() => unknown),
  code: string,
): Promise<SuperCacheError> {
  let error: unknown;
  try {
    if (typeof fn === 'function') await fn();
    else await fn;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a ${code} error`).toBeDefined();
  expect(SuperCacheError.is(error), `expected a SuperCacheError, got ${String(error)}`).toBe(true);
  expect((error as SuperCacheError).code).toBe(code);
  return error as SuperCacheError;
}

/** Asserts that `fn` throws synchronously with `code`. */
export function expectSyncCode(fn: () => unknown, code: string): SuperCacheError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(SuperCacheError.is(error), `expected a SuperCacheError, got ${String(error)}`).toBe(true);
  expect((error as SuperCacheError).code).toBe(code);
  return error as SuperCacheError;
}

/** A clock tests move by hand. */
export class ManualClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A command call a {@link FakeCluster} saw. */
export interface SeenCall {
  readonly table: string;
  readonly kind: 'exec' | 'broadcast' | 'execPartition' | 'broadcastPartitions' | 'openCursor';
  readonly name: string;
  readonly args: readonly unknown[];
  /** The `readMode` the call carried, if any. */
  readonly readMode?: string | undefined;
}

/**
 * A stand-in for the cluster package: runs everything locally, but records
 * every call, so tests can see that the facades route through the seam.
 */
export class FakeCluster {
  readonly calls: SeenCall[] = [];
  readonly specs: ClusterTableSpec[] = [];
  readonly configs: ClusterProviderConfig[] = [];
  started = 0;
  stopped = 0;

  readonly factory = (config: ClusterProviderConfig): ClusterProvider => {
    this.configs.push(config);
    const self = this;
    return {
      nodeId: config.nodeId ?? 'fake-node',
      async start() {
        self.started++;
      },
      async stop() {
        self.stopped++;
      },
      createBackend(spec) {
        self.specs.push(spec);
        return self.#wrap(spec.table, new LocalBackend({ shards: spec.shards, shardOf: spec.shardOf }));
      },
      async clusterStats() {
        return {
          mode: 'distributed',
          nodeId: 'fake-node',
          nodes: [],
          numPartition: config.numPartition,
          replicationMode: config.replicationMode,
          replicationFactor: config.replicationFactor,
        };
      },
    };
  };

  #wrap(table: string, inner: ScopedBackend): ScopedBackend {
    const calls = this.calls;
    return {
      type: inner.type,
      keyPos: inner.keyPos,
      local: inner.local,
      exec(pd, name, args, o) {
        calls.push({ table, kind: 'exec', name, args, readMode: o?.readMode });
        return inner.exec(pd, name, args, o);
      },
      broadcast(name, args, o) {
        calls.push({ table, kind: 'broadcast', name, args, readMode: o?.readMode });
        return inner.broadcast(name, args, o);
      },
      openCursor(kind, arg, o) {
        calls.push({ table, kind: 'openCursor', name: kind, args: [arg], readMode: o?.readMode });
        return inner.openCursor(kind, arg, o);
      },
      execPartition(p, name, args, o) {
        calls.push({ table, kind: 'execPartition', name, args, readMode: o?.readMode });
        return inner.execPartition(p, name, args, o);
      },
      broadcastPartitions(ps, name, args, o) {
        calls.push({ table, kind: 'broadcastPartitions', name, args, readMode: o?.readMode });
        return inner.broadcastPartitions(ps, name, args, o);
      },
    };
  }
}
