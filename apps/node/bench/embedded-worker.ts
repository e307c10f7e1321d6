/**
 * One application process of the embedded comparison (embedded.bench.ts):
 * either it embeds a SuperCache node of a 3-node cluster, or it uses ioredis
 * against one Redis. The parent drives it over IPC:
 *
 *   parent → { kind: 'start', ... }   child → { kind: 'ready', address }
 *   parent → { kind: 'load' }         child → { kind: 'loaded' }
 *   parent → { kind: 'run' }          child → { kind: 'result', ... }
 *
 * and kills it afterwards.
 */

import { SuperCache, type Tuple } from '@supercache/core';
import { ClusterNode, clusterProvider, HttpTransport } from '@supercache/core/cluster';
import { Redis } from 'ioredis';
import { runMix } from './mix-loop.js';

export interface StartMessage {
  readonly kind: 'start';
  readonly system: 'supercache' | 'redis';
  readonly id: string;
  /** Index of this process (0..procs-1): it loads keys i ≡ index (mod procs). */
  readonly index: number;
  readonly procs: number;
  readonly keys: number;
  readonly inFlight: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly readRatio: number;
  readonly secret: string;
  readonly peers: ReadonlyArray<{ id: string; address: string }>;
  readonly replicationFactor: number;
  readonly readMode: 'local' | 'primary';
  readonly replicationMode: 'async' | 'sync';
  readonly redisPort: number;
  readonly partitions: number;
}

export interface WorkerResult {
  readonly kind: 'result';
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  /** Latencies in ms of the recorded operations (sorted). */
  readonly latencies: Float64Array;
}

interface Driver {
  get(i: number): Promise<unknown>;
  put(i: number, v: number): Promise<unknown>;
  load(): Promise<void>;
}

function value(i: number, v: number): Tuple {
  return [`k${i}`, v, 'payload-0123456789'];
}

async function supercache(m: StartMessage): Promise<{ driver: Driver; address: string }> {
  const transport = new HttpTransport({
    nodeId: m.id,
    secret: m.secret,
    listen: { host: '127.0.0.1', port: 0 },
    // BENCH_REQUEST_WINDOW: the transport's requestWindow (default 2), to
    // compare with the window effectively off (e.g. 1000000).
    ...(process.env.BENCH_REQUEST_WINDOW === undefined
      ? {}
      : { requestWindow: Number(process.env.BENCH_REQUEST_WINDOW) }),
  });
  await transport.start();
  const node = new ClusterNode({
    nodeId: m.id,
    address: transport.address as string,
    transport,
    peers: [...m.peers],
    config: {
      numPartition: m.partitions,
      replicationFactor: m.replicationFactor,
      replicationMode: m.replicationMode,
    },
  });
  const cache = new SuperCache({
    cluster: 'distributed',
    nodeId: m.id,
    numPartition: m.partitions,
    replicationFactor: m.replicationFactor,
    replicationMode: m.replicationMode,
    clusterProvider: clusterProvider({ node }),
  });
  await cache.start();
  const opts = { readMode: m.readMode } as const;
  const probe = (i: number): Tuple => [`k${i}`];
  return {
    address: transport.address as string,
    driver: {
      get: (i) => cache.get(probe(i), opts),
      put: (i, v) => cache.put(value(i, v)),
      load: async () => {
        const batch: Tuple[] = [];
        for (let i = m.index; i < m.keys; i += m.procs) {
          batch.push(value(i, 0));
          if (batch.length === 1000) await cache.putBatch(batch.splice(0));
        }
        if (batch.length > 0) await cache.putBatch(batch);
      },
    },
  };
}

async function redis(m: StartMessage): Promise<{ driver: Driver; address: string }> {
  const client = new Redis({
    port: m.redisPort,
    host: '127.0.0.1',
    enableAutoPipelining: true,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  await client.connect();
  return {
    address: `redis://127.0.0.1:${m.redisPort}`,
    driver: {
      get: (i) => client.get(`k${i}`),
      put: (i, v) => client.set(`k${i}`, `${v}|payload-0123456789`),
      load: async () => {
        for (let i = m.index; i < m.keys; i += m.procs * 1000) {
          const p = client.pipeline();
          for (let j = i; j < Math.min(m.keys, i + m.procs * 1000); j += m.procs)
            p.set(`k${j}`, '0|payload-0123456789');
          await p.exec();
        }
      },
    },
  };
}

async function run(m: StartMessage, driver: Driver): Promise<WorkerResult> {
  const r = await runMix(driver, {
    keys: m.keys,
    readRatio: m.readRatio,
    inFlight: m.inFlight,
    warmupMs: m.warmupMs,
    durationMs: m.durationMs,
    seed: 12345 + m.index * 7919,
  });
  return { kind: 'result', ...r };
}

let started: { driver: Driver; m: StartMessage } | undefined;
process.on('message', (msg: { kind: string } & Partial<StartMessage>) => {
  const send = (x: unknown) => process.send?.(x);
  void (async () => {
    try {
      if (msg.kind === 'start') {
        const m = msg as StartMessage;
        const r = m.system === 'supercache' ? await supercache(m) : await redis(m);
        started = { driver: r.driver, m };
        send({ kind: 'ready', address: r.address });
      } else if (msg.kind === 'load' && started !== undefined) {
        await started.driver.load();
        send({ kind: 'loaded' });
      } else if (msg.kind === 'exit') {
        // A clean exit, so that --cpu-prof writes its profile.
        process.exit(0);
      } else if (msg.kind === 'run' && started !== undefined) {
        send(await run(started.m, started.driver));
      }
    } catch (e) {
      send({ kind: 'error', message: (e as Error).stack ?? String(e) });
    }
  })();
});
