import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SuperCache, type SuperCacheOptions } from '../src/index.js';
import { expectSyncCode, FakeCluster } from './helpers.js';

describe('SuperCache options', () => {
  it('fills in the documented defaults', () => {
    const c = new SuperCache().config;
    expect(c).toMatchObject({
      keyPos: 0,
      partitionPos: 0,
      numPartition: availableParallelism(),
      tableType: 'set',
      ttl: 0,
      maxEntries: 0,
      maxBytes: 0,
      cluster: 'local',
      replicationMode: 'async',
      replicationFactor: 2,
      peers: [],
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('keeps what it is given', () => {
    const c = new SuperCache({
      keyPos: 2,
      partitionPos: 1,
      numPartition: 16,
      tableType: 'bag',
      ttl: 500,
      maxEntries: 100,
      maxBytes: 1 << 20,
      replicationMode: 'strong',
      replicationFactor: 3,
      clusterPeers: ['n1', 'n2'],
      lazyPut: { maxBatch: 10, flushOn: 'microtask' },
    }).config;
    expect(c).toMatchObject({
      keyPos: 2,
      partitionPos: 1,
      numPartition: 16,
      tableType: 'bag',
      ttl: 500,
      maxEntries: 100,
      maxBytes: 1 << 20,
      replicationMode: 'strong',
      replicationFactor: 3,
      peers: ['n1', 'n2'],
      lazyPut: { maxBatch: 10, flushOn: 'microtask' },
    });
  });

  const invalid: Array<[string, Record<string, unknown>]> = [
    ['keyPos', { keyPos: -1 }],
    ['keyPos', { keyPos: 1.5 }],
    ['keyPos', { keyPos: '0' }],
    ['partitionPos', { partitionPos: -2 }],
    ['numPartition', { numPartition: 0 }],
    ['numPartition', { numPartition: 70_000 }],
    ['numPartition', { numPartition: 2.5 }],
    ['tableType', { tableType: 'hash' }],
    ['ttl', { ttl: -1 }],
    ['ttl', { ttl: Number.NaN }],
    ['maxEntries', { maxEntries: -5 }],
    ['maxBytes', { maxBytes: 1.5 }],
    ['clock', { clock: {} }],
    ['clock', { clock: Date.now }],
    ['sweepIntervalMs', { sweepIntervalMs: -1 }],
    ['cluster', { cluster: 'mesh' }],
    ['replicationMode', { replicationMode: 'eventual' }],
    ['replicationFactor', { replicationFactor: 0 }],
    ['replicationFactor', { replicationFactor: 1.5 }],
    ['peers', { peers: 'node1' }],
    ['peers[1]', { peers: ['a', ''] }],
    ['clusterPeers', { peers: ['a'], clusterPeers: ['b'] }],
    ['nodeId', { nodeId: '' }],
    ['lazyPut', { lazyPut: 5 }],
    ['lazyPut.maxBatch', { lazyPut: { maxBatch: 0 } }],
    ['lazyPut.maxPending', { lazyPut: { maxPending: Number.POSITIVE_INFINITY } }],
    ['lazyPut.flushOn', { lazyPut: { flushOn: 'never' } }],
    ['lazyPut.onError', { lazyPut: { onError: 'log' } }],
    ['lazyPut.size', { lazyPut: { size: 1 } }],
    ['clusterProvider', { clusterProvider: {} }],
    ['num_partition', { num_partition: 4 }],
  ];

  it.each(invalid)('refuses an invalid %s with SC_ERR_BAD_CONFIG naming the field', (field, options) => {
    const e = expectSyncCode(() => new SuperCache(options as SuperCacheOptions), 'SC_ERR_BAD_CONFIG');
    expect(e.details?.field).toBe(field);
    expect(e.message).toContain(field);
  });

  it('suggests the camelCase name for a snake_case option', () => {
    const e = expectSyncCode(() => new SuperCache({ key_pos: 1 } as SuperCacheOptions), 'SC_ERR_BAD_CONFIG');
    expect(e.message).toMatch(/did you mean keyPos/);
  });

  it('refuses a non-object options argument', () => {
    expectSyncCode(() => new SuperCache(42 as unknown as SuperCacheOptions), 'SC_ERR_BAD_CONFIG');
  });

  it('refuses distributed mode without a cluster provider, explaining what it needs', () => {
    const e = expectSyncCode(
      () => new SuperCache({ cluster: 'distributed', peers: ['n2'] }),
      'SC_ERR_BAD_CONFIG',
    );
    expect(e.details?.field).toBe('cluster');
    expect(e.message).toMatch(/peers/);
    expect(e.message).toMatch(/clusterProvider/);
  });

  it('accepts distributed mode with a cluster provider', () => {
    const cluster = new FakeCluster();
    const cache = new SuperCache({ cluster: 'distributed', clusterProvider: cluster.factory });
    expect(cache.distributed).toBe(true);
    expect(cluster.started).toBe(0);
  });

  it('accepts Infinity as a ttl (never expires) and 0 as sweepIntervalMs', () => {
    expect(new SuperCache({ ttl: Number.POSITIVE_INFINITY, sweepIntervalMs: 0 }).config.ttl).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
