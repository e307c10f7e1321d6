import { createRegistry, LocalBackend, ShardSet } from '@supercache/router';
import { describe, expect, it } from 'vitest';
import { registerStructureCommands, structureCommands } from '../src/index.js';

describe('structure commands', () => {
  it('registers every command under a kv., queue., stack. or struct. prefix, all single-shard', () => {
    const cmds = structureCommands();
    const names = Object.keys(cmds);
    expect(names.length).toBeGreaterThan(15);
    for (const n of names) expect(n).toMatch(/^(kv|queue|stack|struct)\./);
    for (const c of Object.values(cmds)) expect(c.scope).toBe('shard');
    const registry = createRegistry();
    registerStructureCommands(registry);
    for (const n of names) expect(registry.has(n)).toBe(true);
  });

  it('can be registered twice into the same registry', () => {
    const registry = createRegistry();
    registerStructureCommands(registry);
    expect(() => registerStructureCommands(registry)).not.toThrow();
    expect(() => registry.registerAll(structureCommands())).not.toThrow();
  });

  it('refuses to overwrite a different command of the same name with SC_ERR_BAD_ARG', () => {
    const registry = createRegistry();
    registry.register('queue.add', { scope: 'shard', write: true, run: () => 0 });
    expect(() => registerStructureCommands(registry)).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
  });

  it('marks reads as read-only and read-modify-writes as writes', () => {
    const cmds = structureCommands();
    for (const n of [
      'kv.get',
      'kv.getAll',
      'queue.peek',
      'queue.count',
      'stack.peek',
      'stack.count',
      'struct.get',
    ]) {
      expect(cmds[n]?.write).toBe(false);
    }
    for (const n of [
      'kv.increment',
      'kv.update',
      'kv.replace',
      'queue.out',
      'queue.drain',
      'stack.pop',
      'stack.drain',
    ]) {
      expect(cmds[n]?.write).toBe(true);
    }
  });

  it('takes and returns only plain terms, so a command survives a JSON round trip', async () => {
    const registry = createRegistry();
    registerStructureCommands(registry);
    const shards = new ShardSet({ shards: 1, registry, sweepIntervalMs: 0 });
    const backend = new LocalBackend({ shards, shardOf: () => 0 });
    const wire = async (name: string, args: unknown[]) =>
      JSON.parse(JSON.stringify(await backend.exec(['q', 'w'], name, JSON.parse(JSON.stringify(args)))));
    expect(await wire('queue.add', ['w', { a: [1, 'x'] }])).toBe(1);
    expect(await wire('queue.peek', ['w'])).toEqual([{ a: [1, 'x'] }]);
    expect(await wire('queue.out', ['w'])).toEqual([{ a: [1, 'x'] }]);
    expect(await wire('queue.out', ['w'])).toEqual([]);
    expect(await wire('kv.increment', [['n', 'k'], 2, 0])).toBe(2);
    expect(await wire('kv.get', [['n', 'k']])).toEqual([2]);
    shards.close();
  });

  it('stamps writes with the context version and reports touched keys', () => {
    const registry = createRegistry();
    registerStructureCommands(registry);
    const shards = new ShardSet({ shards: 1, registry, sweepIntervalMs: 0 });
    const touched: unknown[] = [];
    const ctx = { version: 'v0001', touched: (_t: unknown, k: unknown) => touched.push(k) };
    shards.runShard(0, 'queue.add', ['w', 'x'], ctx);
    expect(touched).toContainEqual(['q', 'w', 0]);
    expect(touched).toContainEqual(['q', 'w']);
    const t = shards.table(0);
    expect(t.lookupEntries(['q', 'w', 0])[0]?.version).toBe('v0001');
    shards.runShard(0, 'kv.increment', [['n', 'k'], 1, 0], ctx);
    shards.runShard(0, 'kv.increment', [['n', 'k'], 1, 0], { ...ctx, version: 'v0002' });
    expect(t.lookupEntries(['n', 'k'])[0]?.version).toBe('v0002');
    touched.length = 0;
    shards.runShard(0, 'queue.out', ['w'], ctx);
    expect(touched).toContainEqual(['q', 'w', 0]);
    expect(touched).toContainEqual(['q', 'w']);
    shards.close();
  });
});
