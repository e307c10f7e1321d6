/**
 * docs/guides/from-elixir.md names the methods that replace the seeds'
 * functions; every `handle.method` and `Facade.method` it names must exist,
 * and every option it names must be accepted, so the guide cannot drift.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePartitionedTable, PartitionedEts, PartitionedTable, SuperCache } from '../src/index.js';

const guide = readFileSync(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/guides/from-elixir.md'),
  'utf8',
);

/** The guide without the first column of its tables (the Elixir names). */
const ours = guide
  .split('\n')
  .map((line) =>
    line.startsWith('|')
      ? line
          .split(/(?<!\\)\|/)
          .slice(2)
          .join('|')
      : line,
  )
  .join('\n');

/** Every `handle.name(` or `handle.name` written inside backticks, outside the Elixir column. */
function namesOn(handle: string): string[] {
  const out = new Set<string>();
  for (const code of ours.match(/`[^`]+`/g) ?? []) {
    for (const m of code.matchAll(new RegExp(`(?<![\\w.])${handle}\\.([a-zA-Z][A-Za-z0-9]*)`, 'g')))
      out.add(m[1]!);
  }
  return [...out];
}

class User {
  id = 0;
  name = '';
}

describe('docs/guides/from-elixir.md', () => {
  let cache: SuperCache;
  let table: PartitionedTable;
  beforeAll(async () => {
    cache = await SuperCache.start({ numPartition: 2 });
    table = await PartitionedTable.start({ name: 'from_elixir_doc', partitions: 2 });
  });
  afterAll(async () => {
    await table.stop();
    await cache.stop();
  });

  it('names only methods and getters that exist on each handle', () => {
    const handles: Record<string, object> = {
      cache,
      kv: cache.keyValue('doc'),
      q: cache.queue('doc'),
      s: cache.stack('doc'),
      users: cache.struct(User),
      table,
      'table.local': table.local,
      SuperCache,
      PartitionedTable,
      PartitionedEts,
      MyCache: definePartitionedTable({ name: 'from_elixir_doc_def' }),
    };
    let checked = 0;
    for (const [handle, object] of Object.entries(handles)) {
      const names = namesOn(handle.replace('.', '\\.'));
      for (const name of names) {
        if (handle === 'table' && name === 'local') continue;
        expect(name in object, `${handle}.${name} is named in the guide`).toBe(true);
        checked++;
      }
    }
    // The guide names well over a hundred; a broken extraction would find none.
    expect(checked).toBeGreaterThan(60);
  });

  it('names SuperCache options the constructor accepts', () => {
    const options = ['keyPos', 'partitionPos', 'numPartition', 'tableType', 'cluster', 'replicationMode'];
    for (const o of [...options, 'replicationFactor', 'peers', 'clusterPeers', 'ttl', 'maxEntries']) {
      expect(guide).toContain(`\`${o}\``);
    }
    expect(
      () =>
        new SuperCache({
          keyPos: 0,
          partitionPos: 0,
          numPartition: 4,
          tableType: 'bag',
          cluster: 'local',
          replicationMode: 'sync',
          replicationFactor: 2,
          clusterPeers: [],
        }),
    ).not.toThrow();
    // The options the guide says have no equivalent are refused, not ignored.
    for (const gone of ['autoStart', 'tablePrefix', 'debugLog']) {
      expect(() => new SuperCache({ [gone]: true } as never)).toThrow(
        expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
      );
    }
  });
});
