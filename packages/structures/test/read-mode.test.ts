/**
 * Every read of a structure takes `readMode` and hands it to the backend
 * (`ExecOptions.readMode`), where a cluster backend picks the copy that
 * answers; writes never carry it. A recording backend shows what arrives.
 */

import { partitionOf } from '@supercache/partition';
import {
  type Backend,
  type BackendCursor,
  type CursorKind,
  createRegistry,
  type ExecOptions,
  type LocalAccess,
  LocalBackend,
  type ReadMode,
  ShardSet,
  TableRouter,
} from '@supercache/router';
import type { TableType, Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { KeyValue, Queue, registerStructureCommands, Stack, StructStore } from '../src/index.js';

interface Call {
  readonly name: string;
  readonly readMode: ReadMode | undefined;
}

class RecordingBackend implements Backend {
  readonly type: TableType;
  readonly keyPos: number;
  readonly local: LocalAccess;
  readonly calls: Call[] = [];
  readonly #inner: Backend;

  constructor(inner: Backend) {
    this.#inner = inner;
    this.type = inner.type;
    this.keyPos = inner.keyPos;
    this.local = inner.local;
  }

  exec(pd: Term, name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    this.calls.push({ name, readMode: options?.readMode });
    return this.#inner.exec(pd, name, args, options);
  }

  broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    this.calls.push({ name, readMode: options?.readMode });
    return this.#inner.broadcast(name, args, options);
  }

  openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor> {
    return this.#inner.openCursor(kind, arg, options);
  }
}

function recorded(): { router: TableRouter; backend: RecordingBackend } {
  const registry = createRegistry();
  registerStructureCommands(registry);
  const shards = new ShardSet({ shards: 4, registry, sweepIntervalMs: 0 });
  const backend = new RecordingBackend(new LocalBackend({ shards, shardOf: (pd) => partitionOf(pd, 4) }));
  return { router: new TableRouter(backend), backend };
}

class User {
  id = 0;
  name = '';
}

describe('readMode on the structures', () => {
  it.each(['local', 'primary', 'quorum'] as const)(
    'reaches the backend with every read, and with no write (%s)',
    async (readMode) => {
      const { router, backend } = recorded();
      const kv = new KeyValue(router, 'kv');
      const q = new Queue(router, 'q');
      const st = new Stack(router, 's');
      const users = new StructStore(router, User);
      await kv.add('k', 1);
      await q.add('job');
      await st.push('top');
      await users.add(Object.assign(new User(), { id: 1, name: 'Ann' }));
      const writes = backend.calls.length;
      expect(backend.calls.every((c) => c.readMode === undefined)).toBe(true);

      const o = { readMode };
      expect(await kv.get('k', null, o)).toBe(1);
      expect(await kv.getAll('k', o)).toEqual([1]);
      expect(await kv.has('k', o)).toBe(true);
      expect(await kv.keys(o)).toEqual(['k']);
      expect(await kv.values(o)).toEqual([1]);
      expect(await kv.count(o)).toBe(1);
      expect(await kv.toList(o)).toEqual([['k', 1]]);
      expect(await q.peek(null, o)).toBe('job');
      expect(await q.peak(null, o)).toBe('job');
      expect(await q.count(o)).toBe(1);
      expect(await st.peek(null, o)).toBe('top');
      expect(await st.count(o)).toBe(1);
      expect((await users.get(1, o))?.name).toBe('Ann');
      expect((await users.getAll(o)).map((u) => u.name)).toEqual(['Ann']);
      expect(await users.count(o)).toBe(1);

      const reads = backend.calls.slice(writes);
      expect(reads.length).toBe(15);
      for (const c of reads) expect(c, c.name).toEqual({ name: c.name, readMode });
    },
  );

  it('refuses an unknown mode on a read, and any mode on a write, before sending anything', async () => {
    const { router, backend } = recorded();
    const kv = new KeyValue(router, 'kv');
    const q = new Queue(router, 'q');
    const st = new Stack(router, 's');
    const users = new StructStore(router, User);
    const bogus = { readMode: 'bogus' } as never;
    const local = { readMode: 'local' } as never;
    const refused = [
      q.peek(null, bogus),
      q.count(bogus),
      st.peek(null, bogus),
      st.count(bogus),
      users.get(1, bogus),
      users.getAll(bogus),
      users.count(bogus),
      kv.values(bogus),
      q.add('x', local),
      q.out(null, local),
      q.getAll(local),
      q.clear(local),
      st.push('x', local),
      st.pop(null, local),
      st.getAll(local),
      st.clear(local),
      users.add(new User(), local),
      users.remove(1, local),
      users.removeAll(local),
      kv.increment('n', 1, 0, local),
      kv.addBatch([['a', 1]], local),
      kv.removeBatch(['a'], local),
    ];
    for (const p of refused) {
      await expect(p).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG', details: { option: 'readMode' } });
    }
    await expect(q.peek(null, { readmode: 'local' } as never)).rejects.toMatchObject({
      code: 'SC_ERR_BAD_ARG',
      details: { option: 'readmode', suggestion: 'readMode' },
    });
    expect(backend.calls).toEqual([]);
  });
});
