import { SuperCacheError } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { resolveConfig, resolveNodeOptions } from '../src/node-options.js';
import { MemoryNetwork } from '../src/transport-memory.js';

function badConfig(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(SuperCacheError.is(e) && e.code).toBe('SC_ERR_BAD_CONFIG');
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected SC_ERR_BAD_CONFIG');
}

describe('node options', () => {
  const net = new MemoryNetwork();
  const transport = net.createTransport('a');

  it('defaults the lease to two thirds of the failure timeout', () => {
    const s = resolveNodeOptions({ nodeId: 'a', transport, failureTimeoutMs: 3000 });
    expect(s.leaseMs).toBe(2000);
    expect(s.heartbeatMs).toBe(500);
  });

  it('refuses a lease not shorter than the failure timeout, or one a heartbeat interval could outlast', () => {
    badConfig(
      () => resolveNodeOptions({ nodeId: 'a', transport, failureTimeoutMs: 1000, leaseMs: 1000 }),
      /leaseMs \(1000\) must be shorter than failureTimeoutMs/,
    );
    badConfig(
      () => resolveNodeOptions({ nodeId: 'a', transport, failureTimeoutMs: 1000, heartbeatMs: 400 }),
      /heartbeatMs \(400\) must be at most half of leaseMs \(666\)/,
    );
  });

  it('checks the replication factor range and mode', () => {
    expect(resolveConfig({ replicationFactor: 7 }).replicationFactor).toBe(7);
    badConfig(() => resolveConfig({ replicationFactor: 8 }), /from 1 to 7, got 8/);
    badConfig(() => resolveConfig({ replicationFactor: 0 }), /positive integer/);
    badConfig(
      () => resolveConfig({ replicationMode: 'bogus' as never }),
      /replicationMode must be async \| sync \| strong/,
    );
  });

  it('refuses a transport of another node', () => {
    badConfig(() => resolveNodeOptions({ nodeId: 'b', transport }), /transport is for node a, not b/);
  });
});
