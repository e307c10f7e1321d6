/**
 * The structures' commands. Each read-modify-write of a structure (a queue's
 * `out`, a stack's `pop`, a counter's `increment`) is one shard command: it
 * runs synchronously on the table that owns the structure's partition, so no
 * other command can run between its read and its write, in one process or on
 * the owner node of a cluster. Arguments and results are plain terms; a
 * missing value travels as `[]` and a present one as `[value]`, because
 * `undefined` does not survive the wire.
 */

import {
  type Command,
  type CommandContext,
  type CommandRegistry,
  type ShardCommand,
  writeObjects,
} from '@supercache/router';
import {
  type EntryMeta,
  SuperCacheError,
  type Table,
  type Term,
  type Tuple,
  termsEqual,
} from '@supercache/storage';
import { isBagType, queueItem, queueMeta, requireSetType, stackItem, stackMeta } from './layout.js';

function shard(write: boolean, run: ShardCommand['run']): ShardCommand {
  return { scope: 'shard', write, run };
}

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new SuperCacheError('SC_ERR_BAD_ARG', `${what} must be a finite number, got ${String(v)}`);
  }
  return v;
}

function put(t: Table, obj: Tuple, ttl: number | undefined, ctx: CommandContext): void {
  writeObjects(t, [obj], ttl, ctx);
}

/**
 * Writes `obj` with an absolute expiry (`0` = never), stamped with the
 * command's version: used to keep an existing entry's expiry, and for
 * system records, which never expire (an expired meta record would orphan
 * its items and let new items overwrite old sequence numbers).
 */
function rewrite(t: Table, obj: Tuple, expiresAt: number, ctx: CommandContext): void {
  const meta: EntryMeta = { expiresAt };
  if (ctx.version !== undefined) meta.version = ctx.version;
  t.insertEntry(obj, meta);
  ctx.touched?.(t, obj[0] as Term);
}

function putForever(t: Table, obj: Tuple, ctx: CommandContext): void {
  rewrite(t, obj, 0, ctx);
}

function del(t: Table, key: Term, ctx: CommandContext): void {
  t.delete(key);
  ctx.touched?.(t, key);
}

function ttlArg(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

// ---- KeyValue ----------------------------------------------------------------

/** Makes `[value]` the key's only value; keeps a present key's expiry. True when it was present. */
function setValue(t: Table, key: Term, value: Term, ctx: CommandContext): boolean {
  const entries = t.lookupEntries(key);
  const latest = entries[entries.length - 1];
  if (isBagType(t.info().type)) t.delete(key);
  if (latest === undefined) {
    put(t, [key, value], undefined, ctx);
    return false;
  }
  rewrite(t, [key, value], latest.expiresAt, ctx);
  return true;
}

const kvCommands: Record<string, Command> = {
  /** `[key] → [] | [value]`: the latest value at the key (a bag's last one, as the seed). */
  'kv.get': shard(false, (t, a) => {
    const objs = t.lookup(a[0] as Term);
    const latest = objs[objs.length - 1];
    return latest === undefined ? [] : [latest[1] as Term];
  }),

  /** `[key] → value[]`: every value at the key, in storage order. */
  'kv.getAll': shard(false, (t, a) => t.lookup(a[0] as Term).map((o) => o[1] as Term)),

  /**
   * `[key, value] → boolean`: the key's values become exactly `[value]`
   * (bags drop the others). A present key keeps its (latest value's)
   * expiry; a missing one is inserted with the table's default TTL. True
   * when the key was present.
   */
  'kv.update': shard(true, (t, a, ctx) => setValue(t, a[0] as Term, a[1] as Term, ctx)),

  /**
   * `[key, seen, value] → boolean`: compare-and-set. When the key's latest
   * value is still `seen` (`[]`: absent, `[v]`: equal to `v`), writes as
   * `kv.update` and returns true; otherwise writes nothing and returns
   * false, so the caller reads again.
   */
  'kv.cas': shard(true, (t, a, ctx) => {
    const key = a[0] as Term;
    const seen = a[1] as Term[];
    const objs = t.lookupEntries(key);
    const latest = objs[objs.length - 1];
    const same =
      seen.length === 0
        ? latest === undefined
        : latest !== undefined && termsEqual(latest.obj[1] as Term, seen[0] as Term);
    if (!same) return false;
    setValue(t, key, a[2] as Term, ctx);
    return true;
  }),

  /** `[key, value, ttl] → true`: the key's values become exactly `[value]`. */
  'kv.replace': shard(true, (t, a, ctx) => {
    const key = a[0] as Term;
    if (isBagType(t.info().type)) t.delete(key);
    put(t, [key, a[1] as Term], ttlArg(a[2]), ctx);
    return true;
  }),

  /**
   * `[key, step, default] → number`: adds `step` to the number at the key
   * (or to `default` when there is none) and returns the new value. An
   * existing key keeps its expiry.
   */
  'kv.increment': shard(true, (t, a, ctx) => {
    const type = t.info().type;
    if (isBagType(type)) {
      throw new SuperCacheError(
        'SC_ERR_WRONG_TABLE_TYPE',
        `increment needs a set or ordered_set table, this one is ${type}`,
        { details: { type } },
      );
    }
    const key = a[0] as Term;
    const step = finite(a[1], 'step');
    const entry = t.lookupEntries(key)[0];
    if (entry === undefined) {
      const n = finite(a[2], 'default') + step;
      put(t, [key, n], undefined, ctx);
      return n;
    }
    const v = entry.obj[1];
    if (typeof v !== 'number') {
      throw new SuperCacheError('SC_ERR_BAD_COUNTER', `the value at the key is not a number (${typeof v})`, {
        details: { key: Array.isArray(key) ? (key[1] as Term) : key },
      });
    }
    const n = v + step;
    rewrite(t, [key, n], entry.expiresAt, ctx);
    return n;
  }),

  /** `[key] → boolean`: deletes every value at the key; true when there was one. */
  'kv.remove': shard(true, (t, a, ctx) => {
    const key = a[0] as Term;
    if (!t.member(key)) return false;
    del(t, key, ctx);
    return true;
  }),

  /** `[keys] → number`: deletes each key; returns how many keys had values. */
  'kv.removeMany': shard(true, (t, a, ctx) => {
    let n = 0;
    for (const key of a[0] as Term[]) {
      if (!t.member(key)) continue;
      del(t, key, ctx);
      n++;
    }
    return n;
  }),
};

// ---- Queue -------------------------------------------------------------------

interface QueueState {
  head: number;
  tail: number;
}

function queueState(t: Table, name: Term): QueueState {
  const m = t.lookup(queueMeta(name))[0];
  return m === undefined ? { head: 0, tail: 0 } : { head: m[1] as number, tail: m[2] as number };
}

function saveQueue(t: Table, name: Term, s: QueueState, ctx: CommandContext): void {
  const key = queueMeta(name);
  // An empty queue leaves no records behind; its counters restart at 0.
  if (s.head >= s.tail) del(t, key, ctx);
  else putForever(t, [key, s.head, s.tail], ctx);
}

/** Takes the oldest item, skipping sequence numbers whose item is gone (evicted). */
function queueTake(t: Table, name: Term, s: QueueState, ctx: CommandContext): Term[] {
  while (s.head < s.tail) {
    const key = queueItem(name, s.head);
    s.head++;
    const objs = t.take(key);
    const obj = objs[0];
    if (obj !== undefined) {
      ctx.touched?.(t, key);
      return [obj[1] as Term];
    }
  }
  return [];
}

const queueCommands: Record<string, Command> = {
  /** `[name, value] → number`: appends at the tail; returns the new length. */
  'queue.add': shard(true, (t, a, ctx) => {
    requireSetType(t.info().type, 'a queue');
    const name = a[0] as Term;
    const s = queueState(t, name);
    putForever(t, [queueItem(name, s.tail), a[1] as Term], ctx);
    s.tail++;
    saveQueue(t, name, s, ctx);
    return s.tail - s.head;
  }),

  /** `[name] → [] | [value]`: removes and returns the oldest item. */
  'queue.out': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    const s = queueState(t, name);
    if (s.head >= s.tail) return [];
    const r = queueTake(t, name, s, ctx);
    saveQueue(t, name, s, ctx);
    return r;
  }),

  /** `[name] → [] | [value]`: the oldest item, left in place. */
  'queue.peek': shard(false, (t, a) => {
    const name = a[0] as Term;
    const s = queueState(t, name);
    for (let seq = s.head; seq < s.tail; seq++) {
      const obj = t.lookup(queueItem(name, seq))[0];
      if (obj !== undefined) return [obj[1] as Term];
    }
    return [];
  }),

  /** `[name] → number`: items in the queue. */
  'queue.count': shard(false, (t, a) => {
    const s = queueState(t, a[0] as Term);
    return s.tail - s.head;
  }),

  /** `[name] → value[]`: removes every item, returns them oldest first. */
  'queue.drain': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    const s = queueState(t, name);
    const out: Term[] = [];
    while (s.head < s.tail) {
      const r = queueTake(t, name, s, ctx);
      if (r.length > 0) out.push(r[0] as Term);
    }
    saveQueue(t, name, s, ctx);
    return out;
  }),

  /** `[name] → number`: removes every item; returns how many there were. */
  'queue.clear': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    const s = queueState(t, name);
    const n = s.tail - s.head;
    for (let seq = s.head; seq < s.tail; seq++) del(t, queueItem(name, seq), ctx);
    saveQueue(t, name, { head: 0, tail: 0 }, ctx);
    return n;
  }),
};

// ---- Stack -------------------------------------------------------------------

function stackSize(t: Table, name: Term): number {
  const m = t.lookup(stackMeta(name))[0];
  return m === undefined ? 0 : (m[1] as number);
}

function saveStack(t: Table, name: Term, size: number, ctx: CommandContext): void {
  const key = stackMeta(name);
  if (size <= 0) del(t, key, ctx);
  else putForever(t, [key, size], ctx);
}

/** Takes the top item, skipping indexes whose item is gone; returns `[item]` or `[]` and the new size. */
function stackTake(t: Table, name: Term, size: number, ctx: CommandContext): [Term[], number] {
  let n = size;
  while (n > 0) {
    n--;
    const key = stackItem(name, n);
    const obj = t.take(key)[0];
    if (obj !== undefined) {
      ctx.touched?.(t, key);
      return [[obj[1] as Term], n];
    }
  }
  return [[], 0];
}

const stackCommands: Record<string, Command> = {
  /** `[name, value] → number`: pushes on top; returns the new size. */
  'stack.push': shard(true, (t, a, ctx) => {
    requireSetType(t.info().type, 'a stack');
    const name = a[0] as Term;
    const size = stackSize(t, name);
    putForever(t, [stackItem(name, size), a[1] as Term], ctx);
    saveStack(t, name, size + 1, ctx);
    return size + 1;
  }),

  /** `[name] → [] | [value]`: removes and returns the top item. */
  'stack.pop': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    const size = stackSize(t, name);
    if (size === 0) return [];
    const [r, n] = stackTake(t, name, size, ctx);
    saveStack(t, name, n, ctx);
    return r;
  }),

  /** `[name] → [] | [value]`: the top item, left in place. */
  'stack.peek': shard(false, (t, a) => {
    const name = a[0] as Term;
    for (let i = stackSize(t, name) - 1; i >= 0; i--) {
      const obj = t.lookup(stackItem(name, i))[0];
      if (obj !== undefined) return [obj[1] as Term];
    }
    return [];
  }),

  /** `[name] → number`: items on the stack. */
  'stack.count': shard(false, (t, a) => stackSize(t, a[0] as Term)),

  /** `[name] → value[]`: removes every item, returns them top first. */
  'stack.drain': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    let size = stackSize(t, name);
    const out: Term[] = [];
    while (size > 0) {
      const [r, n] = stackTake(t, name, size, ctx);
      if (r.length > 0) out.push(r[0] as Term);
      size = n;
    }
    saveStack(t, name, 0, ctx);
    return out;
  }),

  /** `[name] → number`: removes every item; returns how many there were. */
  'stack.clear': shard(true, (t, a, ctx) => {
    const name = a[0] as Term;
    const size = stackSize(t, name);
    for (let i = 0; i < size; i++) del(t, stackItem(name, i), ctx);
    saveStack(t, name, 0, ctx);
    return size;
  }),
};

// ---- Struct ------------------------------------------------------------------

const structCommands: Record<string, Command> = {
  /** `[key, fields] → true`: stores (or replaces) one struct. */
  'struct.put': shard(true, (t, a, ctx) => {
    requireSetType(t.info().type, 'a struct store');
    putForever(t, [a[0] as Term, a[1] as Term], ctx);
    return true;
  }),

  /** `[key] → [] | [fields]`. */
  'struct.get': shard(false, (t, a) => {
    const obj = t.lookup(a[0] as Term)[0];
    return obj === undefined ? [] : [obj[1] as Term];
  }),

  /** `[key] → boolean`: deletes the struct; true when there was one. */
  'struct.remove': shard(true, (t, a, ctx) => {
    const key = a[0] as Term;
    if (!t.member(key)) return false;
    del(t, key, ctx);
    return true;
  }),
};

/**
 * Every command of the structures package, by name (`kv.*`, `queue.*`,
 * `stack.*`, `struct.*`). All are single-shard commands: each runs in one
 * synchronous step on the table owning its partition. Fan-out reads
 * (`keys`, `count`, …) use the router's built-in `select` commands.
 */
export function structureCommands(): Record<string, Command> {
  return { ...kvCommands, ...queueCommands, ...stackCommands, ...structCommands };
}

const ALL = structureCommands();

/**
 * Registers the structures' commands into a registry. Every node of a
 * cluster must register them into the registries of both the KeyValue table
 * and the system table. Idempotent for the same registry.
 *
 * @throws SuperCacheError `SC_ERR_BAD_ARG` when another command already
 *   holds one of the names.
 */
export function registerStructureCommands(registry: CommandRegistry): void {
  registry.registerAll(ALL);
}
