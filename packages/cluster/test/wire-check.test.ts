import { formatHlc, HybridLogicalClock } from '@supercache/replication';
import { describe, expect, it } from 'vitest';
import { resolveNodeOptions } from '../src/node-options.js';
import { MemoryNetwork } from '../src/transport-memory.js';
import {
  checkChunkItems,
  checkDeltaItems,
  checkRemoteClock,
  checkReplicaBatches,
  checkReplicaEntries,
} from '../src/wire-check.js';

const NOW = 1_800_000_000_000;
const hlc = new HybridLogicalClock({ nodeId: 'me', clock: { now: () => NOW } });
const shape = { keyPos: 0, shards: 4 };
const ok = formatHlc({ wall: NOW - 5, counter: 1, node: 'peer' });
const ahead = formatHlc({ wall: NOW + 60_001, counter: 0, node: 'peer' });

const code = (code: string) => expect.objectContaining({ code });

describe('wire checks of stored data', () => {
  it('accepts well-formed handoff chunk items, with or without a version', () => {
    expect(() =>
      checkChunkItems(
        [
          [0, ['k', 1], 0, ok],
          [3, [JSON.parse('{"__proto__":1}'), 'v'], NOW + 1000, null],
        ],
        shape,
        hlc,
      ),
    ).not.toThrow();
  });

  it('refuses chunk items whose object is null, a number or a string with SC_ERR_BAD_REQUEST', () => {
    for (const obj of [null, 7, 'a string', {}]) {
      expect(() => checkChunkItems([[0, obj, 0, null]], shape, hlc)).toThrowError(code('SC_ERR_BAD_REQUEST'));
    }
  });

  it('refuses a tuple with no key element, a garbage version or expiry, and an unknown shard', () => {
    for (const item of [
      [0, [], 0, null],
      [0, ['k'], 0, 'not-a-version'],
      [0, ['k'], 0, 12],
      [0, ['k'], -1, null],
      [0, ['k'], 'soon', null],
      [4, ['k'], 0, null],
      [-1, ['k'], 0, null],
      [0, ['k'], 0],
    ]) {
      expect(() => checkChunkItems([item], shape, hlc), JSON.stringify(item)).toThrowError(
        code('SC_ERR_BAD_REQUEST'),
      );
    }
  });

  it('refuses a version further ahead than the bound with SC_ERR_CLOCK_SKEW, and leaves the clock alone', () => {
    const before = hlc.now();
    expect(() => checkChunkItems([[0, ['k'], 0, ahead]], shape, hlc)).toThrowError(code('SC_ERR_CLOCK_SKEW'));
    expect(() => checkDeltaItems([[0, 'k', [[['k'], 0, ahead]]]], shape, hlc)).toThrowError(
      code('SC_ERR_CLOCK_SKEW'),
    );
    expect(() => checkReplicaEntries([[['k'], 0, 'ffffffffffff-fffffe-x']], 0, hlc)).toThrowError(
      code('SC_ERR_CLOCK_SKEW'),
    );
    expect(() => checkReplicaBatches([[0, 1, [[1, [['k', [[['k'], 0, ahead]]]]]]]], 0, hlc)).toThrowError(
      code('SC_ERR_CLOCK_SKEW'),
    );
    expect(() => checkRemoteClock(ahead, hlc)).toThrowError(code('SC_ERR_CLOCK_SKEW'));
    expect(hlc.peek()).toBe(before);
  });

  it('checks delta items and replication records down to every entry', () => {
    expect(() => checkDeltaItems([[1, 'k', [[['k', 2], 0, ok]]]], shape, hlc)).not.toThrow();
    expect(() => checkDeltaItems([[1, 'k', [[null, 0, ok]]]], shape, hlc)).toThrowError(
      code('SC_ERR_BAD_REQUEST'),
    );
    expect(() => checkDeltaItems([[1, 'k', 'nope']], shape, hlc)).toThrowError(code('SC_ERR_BAD_REQUEST'));
    expect(() => checkReplicaBatches([[0, 1, [[1, [['k', [[['k'], 0, ok]]]]]]]], 0, hlc)).not.toThrow();
    for (const batch of [
      [0, 1, 'x'],
      [0, 'one', []],
      [0, 1, [[1, [['k', [[7, 0, ok]]]]]]],
      [0, 1, [['seq', []]]],
    ]) {
      expect(() => checkReplicaBatches([batch], 0, hlc), JSON.stringify(batch)).toThrowError(
        code('SC_ERR_BAD_REQUEST'),
      );
    }
  });

  it('reads the clock of a routed write: absent, a timestamp, or refused', () => {
    expect(checkRemoteClock(undefined, hlc)).toBeUndefined();
    expect(checkRemoteClock(ok, hlc)).toBe(ok);
    expect(() => checkRemoteClock(42, hlc)).toThrowError(code('SC_ERR_BAD_REQUEST'));
    expect(() => checkRemoteClock('garbage', hlc)).toThrowError(code('SC_ERR_BAD_REQUEST'));
  });
});

describe('maxClockSkewMs', () => {
  const transport = new MemoryNetwork().createTransport('a');

  it('defaults to 60 s on the node clock and is validated', () => {
    expect(resolveNodeOptions({ nodeId: 'a', transport }).hlc.maxDriftMs).toBe(60_000);
    expect(resolveNodeOptions({ nodeId: 'a', transport, maxClockSkewMs: 5000 }).hlc.maxDriftMs).toBe(5000);
    for (const bad of [0, -5, 1.5, Number.POSITIVE_INFINITY, 2 ** 41]) {
      expect(() => resolveNodeOptions({ nodeId: 'a', transport, maxClockSkewMs: bad })).toThrowError(
        code('SC_ERR_BAD_CONFIG'),
      );
    }
  });
});
