import { describe, expect, it } from 'vitest';
import {
  assertView,
  CONFIG_FIELDS,
  checkConfig,
  checkTableSpec,
  DEFAULT_CONFIG,
  EMPTY_VIEW,
  hostsOf,
  normalizeView,
  sameHosting,
  type View,
} from '../src/view.js';

const view: View = {
  cluster: 'c1',
  epoch: 3,
  members: ['c', 'a', 'b'],
  addresses: { a: 'http://a', b: 'http://b', c: 'http://c', gone: 'x' },
  shards: { t: { a: 4, c: 2, gone: 1 }, empty: { gone: 1 } },
  tables: { t: { type: 'set', keyPos: 0, partitionPos: 0, placement: 'shards', numPartitions: 0 } },
  handoffs: Array.from({ length: 20 }, (_v, i) => `h${i}`),
};

describe('View helpers', () => {
  it('normalizes: sorted members, maps pruned to members, bounded handoff history', () => {
    const v = normalizeView(view);
    expect(v.members).toEqual(['a', 'b', 'c']);
    expect(v.addresses).toEqual({ a: 'http://a', b: 'http://b', c: 'http://c' });
    expect(v.shards).toEqual({ t: { a: 4, c: 2 } });
    expect(v.handoffs).toHaveLength(16);
    expect(v.handoffs.at(-1)).toBe('h19');
  });

  it('lists the hosts of a table and compares hosting', () => {
    expect(hostsOf(view, 't')).toEqual(['c', 'a']);
    expect(hostsOf(view, 'none')).toEqual([]);
    const v = normalizeView(view);
    expect(sameHosting(v, v, 't')).toBe(true);
    expect(sameHosting(v, { ...v, shards: { t: { a: 4, c: 3 } } }, 't')).toBe(false);
    expect(sameHosting(v, { ...v, members: ['a', 'b'] }, 't')).toBe(false);
  });

  it('validates views received from peers', () => {
    expect(assertView(EMPTY_VIEW)).toBe(EMPTY_VIEW);
    for (const bad of [
      null,
      1,
      { ...view, epoch: -1 },
      { ...view, members: [1] },
      { ...view, shards: { t: { a: 0 } } },
    ]) {
      expect(() => assertView(bad)).toThrowError(expect.objectContaining({ code: 'SC_ERR_BAD_REQUEST' }));
    }
  });

  it('names the first differing config field and both values', () => {
    expect(CONFIG_FIELDS).toEqual([
      'numPartition',
      'tableType',
      'replicationFactor',
      'replicationMode',
      'keyPos',
      'partitionPos',
    ]);
    expect(() => checkConfig(DEFAULT_CONFIG, DEFAULT_CONFIG, 'x')).not.toThrow();
    for (const field of CONFIG_FIELDS) {
      const other = {
        ...DEFAULT_CONFIG,
        [field]: field === 'tableType' ? 'bag' : field === 'replicationMode' ? 'sync' : 7,
      };
      let err: { code?: string; message?: string; details?: Record<string, unknown> } = {};
      try {
        checkConfig(other, DEFAULT_CONFIG, 'x');
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.code).toBe('SC_ERR_CONFIG_MISMATCH');
      expect(err.message).toContain(field);
      expect(err.details).toEqual({ field, node: other[field], cluster: DEFAULT_CONFIG[field] });
    }
    const spec = view.tables.t!;
    expect(() => checkTableSpec('t', { ...spec, placement: 'partitions' }, spec, 'x')).toThrowError(
      /placement/,
    );
  });
});
