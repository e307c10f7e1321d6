import { _, $, $_, $$, MatchVar, SuperCacheError } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { decode, encode, errorFromWire, errorToWire } from '../src/index.js';
import {
  encodeBatchRequest,
  encodeBatchResponse,
  encodeCallRequest,
  encodeSender,
  parseBatchResponse,
} from '../src/protocol.js';

const trip = <T>(value: T): T => decode(encode(value)) as T;

function badRequest(bytes: Uint8Array): SuperCacheError {
  try {
    decode(bytes);
  } catch (error) {
    expect(SuperCacheError.is(error)).toBe(true);
    expect((error as SuperCacheError).code).toBe('SC_ERR_BAD_REQUEST');
    return error as SuperCacheError;
  }
  throw new Error('expected SC_ERR_BAD_REQUEST');
}

describe('codec', () => {
  it('keeps numbers as numbers and bigints as bigints', () => {
    for (const n of [
      0,
      1,
      -1,
      127,
      128,
      255,
      256,
      65535,
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
      -(2 ** 53),
      1.5,
      -2.25,
    ]) {
      expect(trip(n)).toBe(n);
    }
    for (const n of [
      0n,
      1n,
      -1n,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 64n - 1n,
      2n ** 64n,
      -(2n ** 64n),
      10n ** 40n,
    ]) {
      expect(trip(n)).toBe(n);
    }
    expect(typeof trip(1)).toBe('number');
    expect(typeof trip(1n)).toBe('bigint');
    expect(trip([1, 1n])).toEqual([1, 1n]);
  });

  it('keeps -0, NaN and the infinities, also deep inside values', () => {
    expect(Object.is(trip(-0), -0)).toBe(true);
    expect(Object.is(trip(0), 0)).toBe(true);
    expect(trip(Number.NaN)).toBeNaN();
    expect(trip(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(trip(Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
    const deep = trip({ a: [1, { b: -0 }], c: -0 });
    expect(Object.is(deep.a[1] && (deep.a[1] as { b: number }).b, -0)).toBe(true);
    expect(Object.is(deep.c, -0)).toBe(true);
  });

  it('does not change the value it encodes when it rewrites -0', () => {
    const value = { list: [-0, 1] };
    encode(value);
    expect(Object.is(value.list[0], -0)).toBe(true);
  });

  it('decodes byte arrays as plain Uint8Array copies, whatever the input type', () => {
    for (const input of [new Uint8Array([1, 2, 3]), Buffer.from([1, 2, 3])]) {
      const wire = encode({ bytes: input });
      for (const bytes of [wire, Buffer.from(wire), new Uint8Array(wire)]) {
        const out = decode(bytes) as { bytes: Uint8Array };
        expect(out.bytes.constructor).toBe(Uint8Array);
        expect([...out.bytes]).toEqual([1, 2, 3]);
        bytes.fill(0);
        expect([...out.bytes]).toEqual([1, 2, 3]);
      }
    }
  });

  it('keeps strings, null, undefined, nested arrays and plain objects', () => {
    const value = {
      s: 'plain ü 😀 \u0000',
      n: null,
      u: undefined,
      arr: [[], [[1]], { x: [{}] }],
      proto: Object.assign(Object.create(null) as object, { k: 1 }),
      '': 'empty key',
    };
    expect(trip(value)).toEqual({ ...value, proto: { k: 1 } });
  });

  it('decodes the match markers to the very same instances', () => {
    const out = trip([_, $(1), $(9), $(1000), $_, $$, { p: [_, $(2)] }]);
    expect(out[0]).toBe(_);
    expect(out[1]).toBe($(1));
    expect(out[2]).toBe($(9));
    expect(out[3]).toBeInstanceOf(MatchVar);
    expect((out[3] as MatchVar).index).toBe(1000);
    expect(out[4]).toBe($_);
    expect(out[5]).toBe($$);
    expect((out[6] as { p: unknown[] }).p[0]).toBe(_);
  });

  it('encodes a marker made by another copy of the package as this copy’s marker', () => {
    const brand = Symbol.for('supercache.match.marker');
    const foreignVar = Object.assign(Object.create({ [brand]: 'var' }) as object, { kind: 'var', index: 4 });
    const foreignAny = Object.create({ [brand]: 'wildcard' }) as object;
    expect(trip([foreignVar, foreignAny])).toEqual([$(4), _]);
    expect(trip([foreignVar])[0]).toBe($(4));
  });

  it('does not confuse a plain object that looks like a marker with one', () => {
    const out = trip({ kind: 'var', index: 1 });
    expect(out).not.toBeInstanceOf(MatchVar);
    expect(out).toEqual({ kind: 'var', index: 1 });
  });

  it('rebuilds a SuperCacheError carried inside a value', () => {
    const error = new SuperCacheError('SC_ERR_NOT_OWNER', 'not mine', {
      retryable: true,
      details: { owner: 'n2', epoch: 7n },
    });
    const out = trip({ error }).error;
    expect(out).toBeInstanceOf(SuperCacheError);
    expect(out.code).toBe('SC_ERR_NOT_OWNER');
    expect(out.message).toBe('not mine');
    expect(out.retryable).toBe(true);
    expect(out.details).toEqual({ owner: 'n2', epoch: 7n });
  });

  it('refuses what would not survive the trip with SC_ERR_INVALID_TERM and a path', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    class Point {
      x = 1;
    }
    const cases: Array<[unknown, string]> = [
      [() => 1, 'body'],
      [Symbol('s'), 'body'],
      [{ a: { 'b c': [0, new Map()] } }, 'body.a["b c"][1]'],
      [[new Date()], 'body[0]'],
      [new Set([1]), 'body'],
      [new Point(), 'body'],
      [new Error('plain'), 'body'],
      [cyclic, 'body[0][0]'],
      [{ f: new Float64Array(2) }, 'body.f'],
    ];
    for (const [value, path] of cases) {
      try {
        encode(value);
        expect.unreachable();
      } catch (error) {
        expect((error as SuperCacheError).code).toBe('SC_ERR_INVALID_TERM');
        expect((error as SuperCacheError).message).toContain(path);
      }
    }
  });

  it('fails garbage with SC_ERR_BAD_REQUEST', () => {
    badRequest(new Uint8Array(0));
    badRequest(Uint8Array.of(0xc1));
    badRequest(Uint8Array.of(0x92, 0x01)); // array of 2 with 1 element
    badRequest(Uint8Array.of(0x01, 0x02)); // trailing bytes
    badRequest(Uint8Array.of(0xd4, 0x31, 0x00, 0x00)); // $(0)
    badRequest(Uint8Array.of(0xd4, 0x31, 0x00, 0xa1, 0x78)); // $('x')
    badRequest(Uint8Array.of(0xd4, 0x7f, 0x00)); // unknown extension
    badRequest(Buffer.from('this is not msgpack at all, just words'.repeat(3)));
  });

  it('turns any thrown value into a wire error and back', () => {
    expect(errorToWire(new TypeError('boom'))).toEqual({
      name: 'SuperCacheError',
      code: 'SC_ERR_INTERNAL',
      message: 'boom',
      retryable: false,
    });
    expect(errorToWire('text').message).toBe('text');
    const back = errorFromWire(errorToWire(new SuperCacheError('SC_ERR_TIMEOUT', 't', { retryable: true })));
    expect(back).toMatchObject({ code: 'SC_ERR_TIMEOUT', message: 't', retryable: true });
    for (const malformed of [
      null,
      'x',
      { code: 1, message: 'm' },
      { code: 'NOPE', message: 'm' },
      { code: 'SC_ERR_X' },
    ]) {
      expect(errorFromWire(malformed).code).toBe('SC_ERR_INTERNAL');
    }
  });
});

describe('peer protocol envelopes', () => {
  it('splices pre-encoded bodies into the documented call envelope', () => {
    const bytes = encodeCallRequest(encodeSender('n0'), 'get', encode(['k', 1n]));
    expect(decode(bytes)).toEqual({ v: 1, from: 'n0', method: 'get', body: ['k', 1n] });
  });

  it('splices pre-encoded bodies into the documented batch envelope, for any count', () => {
    for (const count of [1, 15, 16, 300]) {
      const calls = Array.from({ length: count }, (_, i) => ({ method: `m${i % 3}`, body: encode({ i }) }));
      expect(decode(encodeBatchRequest(encodeSender('n0'), calls))).toEqual({
        v: 1,
        from: 'n0',
        calls: calls.map((_, i) => [i, `m${i % 3}`, { i }]),
      });
    }
  });

  it('writes batch results for ids of every width and reads them back', () => {
    const ids = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 31];
    const bytes = encodeBatchResponse(
      ids.map((id, i) =>
        i % 2 === 0 ? [id, true, encode(id)] : [id, false, encode(errorToWire(new Error(`e${id}`)))],
      ),
    );
    const results = parseBatchResponse(bytes);
    expect(results.map((r) => r[0])).toEqual(ids);
    expect(results[0]).toEqual([0, true, 0]);
    expect(results[1]![1]).toBe(false);
    expect((results[1]![2] as SuperCacheError).message).toBe('e127');
  });

  it('reports a malformed batch response as SC_ERR_INTERNAL', () => {
    for (const bytes of [Uint8Array.of(0xc1), encode({ results: 'x' }), encode({ results: [[1, true]] })]) {
      expect(() => parseBatchResponse(bytes)).toThrow(expect.objectContaining({ code: 'SC_ERR_INTERNAL' }));
    }
  });
});
