/**
 * The hold promises of the distributed guide, on real nodes over the memory
 * transport: while a source holds moving data for the switch, a command on
 * that data fails with `SC_ERR_HANDOFF` (retryable) once `holdTimeoutMs`
 * passes; and a source whose leader never commits aborts by itself after
 * twice the hold timeout and serves that data again.
 */

import { SuperCacheError, type Tuple } from '@supercache/storage';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandoffProgressEvent } from '../src/events.js';
import { type MemoryCluster, memoryCluster } from './cluster-memory-harness.js';
import { eventually } from './cluster-suite.js';

const TABLES = [{ name: 'set', type: 'set', placement: 'partitions', numPartitions: 32 }] as const;
const HOLD_MS = 150;

let cluster: MemoryCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('a handoff whose leader dies after the switch', () => {
  it('fails commands on held data with SC_ERR_HANDOFF after holdTimeoutMs, then aborts at 2× and serves again', async () => {
    // A failure timeout far above 2× the hold: the self-abort, not a view
    // change, is what releases the data.
    const c = memoryCluster({ holdTimeoutMs: HOLD_MS, failureTimeoutMs: 4000 });
    cluster = c;
    for (const id of ['a', 'b', 'd']) await c.start(id, { tables: TABLES });
    const keys = Array.from({ length: 300 }, (_v, i) => `k${i}`);
    await c.table('a', 'set').insertMany(keys.map((k, i) => [k, i] as Tuple));
    const b = c.node('b');
    const table = b.getTable('set');
    if (table === undefined) throw new Error('no table set on b');
    // The keys b owns before the join (the others answer SC_ERR_NOT_OWNER).
    const mine: string[] = [];
    for (const k of keys) {
      try {
        await table.serveShard(k, 'lookup', [k]);
        mine.push(k);
      } catch (e) {
        expect(SuperCacheError.is(e) && e.code).toBe('SC_ERR_NOT_OWNER');
      }
    }
    expect(mine.length).toBeGreaterThan(0);

    const events: HandoffProgressEvent[] = [];
    let switched: () => void = () => {};
    const atSwitch = new Promise<void>((resolve) => {
      switched = resolve;
    });
    b.on('handoffProgress', (e: HandoffProgressEvent) => {
      events.push(e);
      if (e.role === 'source' && e.phase === 'switch') {
        // b holds its moving data now: the leader goes silent before it can commit.
        c.net.kill('a');
        switched();
      }
    });
    const joining = c.start('c', { tables: TABLES }).catch(() => undefined);
    await atSwitch;

    const held = await Promise.all(
      mine.map((k) =>
        table.serveShard(k, 'lookup', [k]).then(
          () => 'served',
          (e: unknown) => (SuperCacheError.is(e) ? `${e.code}:${e.retryable}` : String(e)),
        ),
      ),
    );
    // Data that stays on b is served through the hold; data that moves waits
    // and fails, retryably, when the hold outlasts holdTimeoutMs.
    expect(held.filter((r) => r === 'served').length).toBeGreaterThan(0);
    expect(held.filter((r) => r === 'SC_ERR_HANDOFF:true').length).toBeGreaterThan(0);
    expect(held.filter((r) => r !== 'served' && r !== 'SC_ERR_HANDOFF:true')).toEqual([]);

    // No commit arrives: b aborts by itself and serves every key it owned, unchanged.
    expect(
      await eventually(
        async () => events.some((e) => e.role === 'source' && e.phase === 'aborted'),
        HOLD_MS * 10,
      ),
    ).toBe(true);
    expect(events.find((e) => e.phase === 'aborted')?.error).toContain('hold timeout');
    for (const k of mine) expect(await table.serveShard(k, 'lookup', [k])).toEqual([[k, keys.indexOf(k)]]);
    c.net.revive('a');
    await joining;
  });
});
