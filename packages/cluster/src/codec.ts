/**
 * The wire codec of the peer protocol: MessagePack (msgpackr) with exact
 * bigints, `-0`, plain `Uint8Array`s, the match markers and
 * {@link SuperCacheError}s.
 *
 * What survives a round trip: `null`, `undefined`, booleans, numbers
 * (including `-0`, `NaN`, `±Infinity`; a number stays a number), bigints of
 * any size (a bigint stays a bigint, `1n` is never `1`), strings, byte
 * arrays (decoded as plain `Uint8Array`, never `Buffer`, never a view into
 * the request), arrays, plain objects, the markers `_`, `$(n)`, `$_`, `$$`,
 * and `SuperCacheError` (code, message, retryable, details). Object keys
 * come back exactly, `__proto__`, `constructor` and `prototype` included
 * (always as own keys, never touching a prototype). Anything else
 * (functions, symbols, class instances, `Map`, `Date`) is refused at encode
 * time with `SC_ERR_INVALID_TERM`, so a payload that would silently change
 * shape on the wire fails where it is built.
 */

import {
  _,
  $,
  $_,
  $$,
  AllBindings,
  type ErrorCode,
  MatchVar,
  markerKind,
  SuperCacheError,
  WholeObject,
  Wildcard,
} from '@supercache/storage';
import { addExtension, C1, Packr } from 'msgpackr';

// Application extension types (0..127 are free for applications). Chosen in
// a block msgpackr does not use for its own types.
const EXT_WILDCARD = 0x30;
const EXT_MATCH_VAR = 0x31;
const EXT_WHOLE_OBJECT = 0x32;
const EXT_ALL_BINDINGS = 0x33;
const EXT_ERROR = 0x34;
const EXT_NEGATIVE_ZERO = 0x35;
const EXT_PROTO_KEYED = 0x36;

/** The deepest nesting the codec accepts; deeper (or cyclic) values are refused. */
const MAX_DEPTH = 1000;
/** Path segments shown in an error message (the outermost ones). */
const MAX_PATH = 32;

const ONE_BYTE = new Uint8Array(1);

/**
 * msgpackr writes `-0` as the integer 0; {@link encode} swaps it for this
 * marker, which the decoder turns back into `-0`.
 */
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

/**
 * msgpackr decodes a map key `__proto__` as `__proto_` (its guard against
 * prototype pollution), so an object with that own key travels as this
 * wrapper instead: its entries as a flat `[key, value, key, value, …]`
 * array, rebuilt with `defineProperty` (an own key, never a prototype).
 */
class ProtoKeyed {
  constructor(readonly flat: unknown[]) {}
}

function fromFlat(data: unknown): Record<string, unknown> {
  if (!Array.isArray(data) || data.length % 2 !== 0) {
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed MessagePack payload: bad keyed object');
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < data.length; i += 2) {
    const key = data[i];
    if (typeof key !== 'string') {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed MessagePack payload: bad keyed object');
    }
    defineOwn(out, key, data[i + 1]);
  }
  return out;
}

/** Sets an own enumerable key, `__proto__` included. */
function defineOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  } else out[key] = value;
}

/** The JSON form of a {@link SuperCacheError} on the wire. */
export interface WireError {
  /** Always `'SuperCacheError'` when produced by this codec. */
  readonly name?: string;
  /** The stable error code. */
  readonly code: ErrorCode;
  /** Human-readable message. */
  readonly message: string;
  /** Whether the same call may succeed if retried. */
  readonly retryable: boolean;
  /** Structured details, when any. */
  readonly details?: unknown;
}

let extensionsInstalled = false;
// msgpackr's extension registry is process-wide; installing twice would only
// shadow the first registration, but do it once anyway.
function installExtensions(): void {
  if (extensionsInstalled) return;
  extensionsInstalled = true;
  addExtension({ Class: Wildcard, type: EXT_WILDCARD, pack: () => ONE_BYTE, unpack: () => _ });
  addExtension({ Class: WholeObject, type: EXT_WHOLE_OBJECT, pack: () => ONE_BYTE, unpack: () => $_ });
  addExtension({ Class: AllBindings, type: EXT_ALL_BINDINGS, pack: () => ONE_BYTE, unpack: () => $$ });
  addExtension({ Class: NegativeZero, type: EXT_NEGATIVE_ZERO, pack: () => ONE_BYTE, unpack: () => -0 });
  addExtension({
    Class: ProtoKeyed,
    type: EXT_PROTO_KEYED,
    write: (v: ProtoKeyed) => v.flat,
    read: (data: unknown) => fromFlat(data),
  });
  addExtension({
    Class: MatchVar,
    type: EXT_MATCH_VAR,
    write: (v: MatchVar) => v.index,
    read: (index: unknown) => {
      // `$` validates the number and returns the one shared instance.
      return $(index as number);
    },
  });
  addExtension({
    Class: SuperCacheError,
    type: EXT_ERROR,
    write: (e: SuperCacheError) => errorToWire(e),
    read: (data: unknown) => errorFromWire(data),
  });
}
installExtensions();

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  // Exact bigints: every 64-bit integer on the wire decodes as a bigint, and
  // wider ones use msgpackr's bigint extension. Numbers never travel as
  // int64 (msgpackr writes integers beyond 32 bits as float64).
  int64AsType: 'bigint',
  useBigIntExtension: true,
  // Byte arrays are copied out of the received buffer, so a stored value
  // never pins a whole request body in memory.
  copyBuffers: true,
  useFloat32: 0,
});

/** Thrown inside {@link scan}; collects the path on the way out. */
class Unencodable {
  readonly segments: Array<string | number> = [];
  constructor(readonly what: string) {}
}

function formatPath(segments: ReadonlyArray<string | number>): string {
  // Segments come innermost first; show the outermost MAX_PATH of them.
  let path = 'body';
  const stop = Math.max(0, segments.length - MAX_PATH);
  for (let i = segments.length - 1; i >= stop; i--) {
    const s = segments[i]!;
    path +=
      typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  }
  return stop > 0 ? `${path}…` : path;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? `a ${name}` : 'an object';
}

/**
 * Checks that `value` is encodable and reports whether it must be rewritten
 * first (it holds a `-0`, or a marker or error from another copy of the
 * storage package). Allocates nothing on the common path.
 */
function scan(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'number':
      return value === 0 && 1 / value < 0;
    case 'string':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return false;
    case 'object': {
      if (value === null || value instanceof Uint8Array) return false;
      if (depth >= MAX_DEPTH)
        throw new Unencodable(`a value nested deeper than ${MAX_DEPTH} levels (or cyclic)`);
      if (Array.isArray(value)) {
        let rewrite = false;
        for (let i = 0; i < value.length; i++) {
          try {
            if (scan(value[i], depth + 1)) rewrite = true;
          } catch (error) {
            if (error instanceof Unencodable) error.segments.push(i);
            throw error;
          }
        }
        return rewrite;
      }
      if (isPlainObject(value)) {
        let rewrite = Object.hasOwn(value, '__proto__');
        for (const key of Object.keys(value)) {
          try {
            if (scan((value as Record<string, unknown>)[key], depth + 1)) rewrite = true;
          } catch (error) {
            if (error instanceof Unencodable) error.segments.push(key);
            throw error;
          }
        }
        return rewrite;
      }
      if (
        value instanceof Wildcard ||
        value instanceof MatchVar ||
        value instanceof WholeObject ||
        value instanceof AllBindings ||
        value instanceof SuperCacheError
      ) {
        return false;
      }
      // A marker or error made by another copy of @supercache/storage: the
      // extensions match by class, so swap it for this copy's equivalent.
      if (markerKind(value) !== undefined || SuperCacheError.is(value)) return true;
      throw new Unencodable(describe(value));
    }
    default:
      throw new Unencodable(describe(value));
  }
}

/** Copies `value` in the form the extensions expect. Runs only when {@link scan} asks for it. */
function rewrite(value: unknown): unknown {
  if (typeof value === 'number') return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(rewrite);
  if (isPlainObject(value)) {
    const src = value as Record<string, unknown>;
    if (Object.hasOwn(src, '__proto__')) {
      const flat: unknown[] = [];
      for (const key of Object.keys(src)) flat.push(key, rewrite(src[key]));
      return new ProtoKeyed(flat);
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(src)) out[key] = rewrite(src[key]);
    return out;
  }
  switch (markerKind(value)) {
    case 'wildcard':
      return _;
    case 'var':
      return $((value as { index: number }).index);
    case 'whole':
      return $_;
    case 'all':
      return $$;
    default:
      return value instanceof SuperCacheError || !SuperCacheError.is(value)
        ? value
        : errorFromWire(errorToWire(value));
  }
}

/**
 * Encodes a value for the wire.
 *
 * @returns the MessagePack bytes (a fresh view; safe to keep).
 * @throws SuperCacheError `SC_ERR_INVALID_TERM` when `value` holds something
 * that would not survive the trip (a function, symbol, class instance,
 * `Map`, `Date`, a cycle, or nesting deeper than 1000 levels).
 */
export function encode(value: unknown): Uint8Array {
  let needsRewrite: boolean;
  try {
    needsRewrite = scan(value, 0);
  } catch (error) {
    if (!(error instanceof Unencodable)) throw error;
    const path = formatPath(error.segments);
    throw new SuperCacheError('SC_ERR_INVALID_TERM', `cannot encode ${error.what} at ${path}`, {
      details: { path },
    });
  }
  return packr.pack(needsRewrite ? rewrite(value) : value);
}

/**
 * Decodes bytes produced by {@link encode}.
 *
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` when `bytes` is not one
 * complete, valid MessagePack value.
 */
export function decode(bytes: Uint8Array): unknown {
  // A plain Uint8Array view makes msgpackr's copied byte arrays plain
  // Uint8Arrays too (a Buffer input would give Buffers).
  const view =
    bytes.constructor === Uint8Array
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let value: unknown;
  try {
    value = packr.unpack(view);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SuperCacheError('SC_ERR_BAD_REQUEST', `malformed MessagePack payload: ${reason}`, { cause });
  }
  // msgpackr decodes the reserved byte 0xc1 to a placeholder object instead
  // of failing; a payload that is only that is garbage. (Nested ones are
  // not terms and fail validation where they are used.)
  if (value === C1) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'malformed MessagePack payload: 0xc1');
  return value;
}

/**
 * The wire form of any thrown value: a SuperCacheError's own JSON, anything
 * else as `SC_ERR_INTERNAL` with its message.
 */
export function errorToWire(error: unknown): WireError {
  if (SuperCacheError.is(error)) {
    const out: { name: string; code: ErrorCode; message: string; retryable: boolean; details?: unknown } = {
      name: 'SuperCacheError',
      code: error.code,
      message: error.message,
      retryable: error.retryable,
    };
    if (error.details !== undefined) out.details = error.details;
    return out;
  }
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'SuperCacheError', code: 'SC_ERR_INTERNAL', message, retryable: false };
}

/**
 * Rebuilds a {@link SuperCacheError} from its wire form. A malformed form
 * becomes `SC_ERR_INTERNAL` (the peer broke the protocol, not the caller).
 */
export function errorFromWire(data: unknown): SuperCacheError {
  if (typeof data !== 'object' || data === null) {
    return new SuperCacheError('SC_ERR_INTERNAL', 'malformed error from peer');
  }
  const { code, message, retryable, details } = data as Record<string, unknown>;
  if (typeof code !== 'string' || !code.startsWith('SC_ERR_') || typeof message !== 'string') {
    return new SuperCacheError('SC_ERR_INTERNAL', 'malformed error from peer');
  }
  const validDetails = typeof details === 'object' && details !== null && !Array.isArray(details);
  return new SuperCacheError(
    // An unknown code from a newer peer is kept as is: codes are strings.
    code as ErrorCode,
    message,
    validDetails
      ? { retryable: retryable === true, details: details as Record<string, unknown> }
      : { retryable: retryable === true },
  );
}
