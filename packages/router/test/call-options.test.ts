import { partitionOf } from '@supercache/partition';
import { _, $, type Term } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  type BackendCursor,
  type CursorKind,
  checkCallOptions,
  didYouMean,
  type ExecOptions,
  KEY_READ_SHAPE,
  LocalBackend,
  READ_MODES,
  ShardSet,
  TableRouter,
  WRITE_SHAPE,
} from '../src/index.js';

/** Records the options bag of every call that reaches the backend. */
class RecordingBackend implements Backend {
  readonly calls: Array<{ name: string; options: ExecOptions | undefined }> = [];
  readonly #inner: LocalBackend;
  constructor(inner: LocalBackend) {
    this.#inner = inner;
  }
  get type() {
    return this.#inner.type;
  }
  get keyPos() {
    return this.#inner.keyPos;
  }
  get local() {
    return this.#inner.local;
  }
  exec(pd: Term, name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    this.calls.push({ name, options });
    return this.#inner.exec(pd, name, args, options);
  }
  broadcast(name: string, args: readonly unknown[], options?: ExecOptions): Promise<unknown> {
    this.calls.push({ name, options });
    return this.#inner.broadcast(name, args, options);
  }
  openCursor(kind: CursorKind, arg: unknown, options?: ExecOptions): Promise<BackendCursor> {
    this.calls.push({ name: `cursor:${kind}`, options });
    return this.#inner.openCursor(kind, arg, options);
  }
}

function setup(type: 'set' | 'ordered_set' = 'set') {
  const shards = new ShardSet({ type, keyPos: 0, shards: 4, sweepIntervalMs: 0 });
  const backend = new RecordingBackend(new LocalBackend({ shards, shardOf: (pd) => partitionOf(pd, 4) }));
  return { router: new TableRouter(backend), backend };
}

describe('checkCallOptions', () => {
  it('accepts no options, an empty bag and options set to undefined', () => {
    expect(() => checkCallOptions('put', undefined, WRITE_SHAPE)).not.toThrow();
    expect(() => checkCallOptions('put', {}, WRITE_SHAPE)).not.toThrow();
    expect(() => checkCallOptions('put', { ttl: undefined }, WRITE_SHAPE)).not.toThrow();
    expect(() =>
      checkCallOptions('put', { ttl: 0, signal: new AbortController().signal }, WRITE_SHAPE),
    ).not.toThrow();
  });

  it.each([['50'], [true], [{}], [-1], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'refuses ttl %s with SC_ERR_BAD_ARG naming the option',
    (ttl) => {
      expect(() => checkCallOptions('put', { ttl }, WRITE_SHAPE)).toThrow(
        expect.objectContaining({
          code: 'SC_ERR_BAD_ARG',
          details: expect.objectContaining({ option: 'ttl' }),
        }),
      );
    },
  );

  it('refuses an unknown option with a did-you-mean hint', () => {
    let error: unknown;
    try {
      checkCallOptions('lookup', { partiton: 't' }, KEY_READ_SHAPE);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'SC_ERR_BAD_ARG',
      details: { option: 'partiton', suggestion: 'partition' },
    });
    expect((error as Error).message).toContain('did you mean partition?');
  });

  it('refuses an unknown option without a near name, listing what the call accepts', () => {
    expect(() => checkCallOptions('put', { colour: 'red' }, WRITE_SHAPE)).toThrow(
      /unknown option colour; put accepts signal, ttl/,
    );
  });

  it('refuses a non-object options bag and a non-signal signal', () => {
    expect(() => checkCallOptions('put', 5, WRITE_SHAPE)).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    expect(() => checkCallOptions('put', [], WRITE_SHAPE)).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_ARG' }),
    );
    expect(() => checkCallOptions('put', { signal: {} }, WRITE_SHAPE)).toThrow(
      /option signal must be an AbortSignal/,
    );
  });

  it('accepts exactly the three read modes', () => {
    for (const readMode of READ_MODES)
      expect(() => checkCallOptions('lookup', { readMode }, KEY_READ_SHAPE)).not.toThrow();
    for (const readMode of ['bogus', 'LOCAL', 1, null]) {
      expect(() => checkCallOptions('lookup', { readMode }, KEY_READ_SHAPE)).toThrow(
        expect.objectContaining({
          code: 'SC_ERR_BAD_ARG',
          details: expect.objectContaining({ option: 'readMode' }),
        }),
      );
    }
  });

  it('does not take inherited object keys for options', () => {
    expect(() => checkCallOptions('put', { toString: 1 }, WRITE_SHAPE)).toThrow(/unknown option toString/);
  });

  it('suggests camelCase for snake_case and near names only', () => {
    expect(didYouMean('read_mode', ['signal', 'readMode'])).toBe('readMode');
    expect(didYouMean('tll', ['signal', 'ttl'])).toBe('ttl');
    expect(didYouMean('readmode', ['signal', 'readMode'])).toBe('readMode');
    expect(didYouMean('xyz', ['signal', 'ttl'])).toBeUndefined();
  });
});

describe('TableRouter per-call options', () => {
  it('refuses a bad option before anything is written', async () => {
    const { router } = setup();
    await expect(router.insert(['a', 1], { ttl: '50' as never })).rejects.toMatchObject({
      code: 'SC_ERR_BAD_ARG',
    });
    await expect(router.insertMany([['a', 1]], { tll: 5 } as never)).rejects.toThrow(/did you mean ttl/);
    await expect(router.delete('a', { readMode: 'local' } as never)).rejects.toMatchObject({
      code: 'SC_ERR_BAD_ARG',
    });
    expect(await router.size()).toBe(0);
  });

  it('refuses a mistyped read option on every kind of read', async () => {
    const { router } = setup();
    const bad = { readMode: 'bogus' } as never;
    const reads: Array<() => Promise<unknown>> = [
      () => router.lookup('a', bad),
      () => router.member('a', bad),
      () => router.lookupElement('a', 1, bad),
      () => router.tab2list(bad),
      () => router.size(bad),
      () => router.match([$(1), _], bad),
      () => router.matchObject([_, _], bad),
      () => router.select([[[_, _], [], ['$_']]], bad),
      () => router.selectCount([[[_, _], [], [true]]], bad),
      () => router.selectPage([[[_, _], [], ['$_']]], 10, bad),
      () => router.first(bad),
      () => router.next('a', bad),
      () => router.foldl((_o, a: number) => a, 0, bad),
    ];
    for (const read of reads) await expect(read()).rejects.toMatchObject({ code: 'SC_ERR_BAD_ARG' });
  });

  it('threads readMode to the backend on every read, and carries none on writes', async () => {
    const { router, backend } = setup();
    await router.insert(['a', 1]);
    await router.lookup('a', { readMode: 'quorum' });
    await router.tab2list({ readMode: 'primary' });
    await router.foldl((_o, n: number) => n + 1, 0, { readMode: 'primary', pageSize: 1 });
    const modes = backend.calls.map((c) => [c.name, c.options?.readMode]);
    expect(modes).toEqual([
      ['insert', undefined],
      ['lookup', 'quorum'],
      ['tab2list', 'primary'],
      ['cursor:objects', 'primary'],
    ]);
  });

  it('answers the same for each read mode on a local backend (one copy)', async () => {
    const { router } = setup('ordered_set');
    await router.insertMany([
      ['a', 1],
      ['b', 2],
    ]);
    const answers = await Promise.all(READ_MODES.map((readMode) => router.tab2list({ readMode })));
    expect(answers).toEqual([
      [
        ['a', 1],
        ['b', 2],
      ],
      [
        ['a', 1],
        ['b', 2],
      ],
      [
        ['a', 1],
        ['b', 2],
      ],
    ]);
  });
});
