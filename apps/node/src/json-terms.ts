/**
 * Terms in JSON, for the client API.
 *
 * JSON has no bigint, no byte string and no non-finite numbers, so those
 * travel as one-key tagged objects; everything else is plain JSON:
 *
 * | term                          | JSON                                  |
 * |-------------------------------|---------------------------------------|
 * | `123n`                        | `{ "$bigint": "123" }`                |
 * | `Uint8Array [1, 2]`           | `{ "$bytes": "AQI=" }` (base64)       |
 * | `NaN`, `Infinity`, `-Infinity`| `{ "$num": "NaN" }`, `"Infinity"`, `"-Infinity"` |
 * | an object whose only key is `$bigint`, `$bytes`, `$num` or `$obj` | `{ "$obj": { … } }` (escaped) |
 *
 * The escape makes the mapping lossless: any term survives
 * `termFromJson(termToJson(t))`. A JSON integer beyond ±2^53 loses
 * precision in `JSON.parse` before it reaches us; send it as `$bigint`.
 *
 * Match patterns and specs add the storage package's marker tags
 * (`{ "$sc": "_" }`, `{ "$sc": "var", "n": 1 }`, …) on top: decode the JSON
 * tags first with {@link termFromJson}, then the markers with
 * `decodePattern` / `decodeMatchSpec`.
 */

import { SuperCacheError, type Term } from '@supercache/storage';

/** How deep a JSON term may nest before it is refused. */
export const MAX_JSON_DEPTH = 64;

const TAGS = new Set(['$bigint', '$bytes', '$num', '$obj']);
const BIGINT_RE = /^-?(0|[1-9][0-9]*)$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function bad(path: string, why: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_REQUEST', `invalid JSON term at ${path}: ${why}`, {
    details: { path },
  });
}

function onlyKey(o: object): string | undefined {
  const keys = Object.keys(o);
  return keys.length === 1 ? keys[0] : undefined;
}

/**
 * Decodes a parsed JSON value into a term, resolving the tags of the module
 * table. Safe on untrusted input: it bounds the depth and validates every tag.
 *
 * @throws SuperCacheError `SC_ERR_BAD_REQUEST` on a malformed tag or a value
 *   nested deeper than {@link MAX_JSON_DEPTH}.
 */
export function termFromJson(value: unknown, path = 'value'): Term {
  return decode(value, path, 0);
}

function decode(x: unknown, path: string, depth: number): Term {
  if (x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') return x;
  if (typeof x !== 'object') throw bad(path, `${typeof x} is not JSON`);
  if (depth >= MAX_JSON_DEPTH) throw bad(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(x)) {
    const out: Term[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = decode(x[i], `${path}[${i}]`, depth + 1);
    return out;
  }
  const src = x as Record<string, unknown>;
  const tag = onlyKey(src);
  if (tag !== undefined && TAGS.has(tag)) return decodeTagged(tag, src[tag], path, depth);
  return decodeEntries(src, path, depth);
}

function decodeEntries(src: Record<string, unknown>, path: string, depth: number): Term {
  const out: Record<string, Term> = {};
  for (const k of Object.keys(src)) {
    // defineProperty keeps a "__proto__" key an ordinary own key.
    Object.defineProperty(out, k, {
      value: decode(src[k], `${path}.${k}`, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function decodeTagged(tag: string, v: unknown, path: string, depth: number): Term {
  switch (tag) {
    case '$bigint':
      if (typeof v !== 'string' || !BIGINT_RE.test(v) || v.length > 4096) {
        throw bad(path, '"$bigint" takes a decimal integer string');
      }
      return BigInt(v);
    case '$bytes': {
      if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64_RE.test(v)) {
        throw bad(path, '"$bytes" takes a padded base64 string');
      }
      const buf = Buffer.from(v, 'base64');
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
    }
    case '$num':
      if (v === 'NaN') return Number.NaN;
      if (v === 'Infinity') return Number.POSITIVE_INFINITY;
      if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
      throw bad(path, '"$num" takes "NaN", "Infinity" or "-Infinity"');
    default:
      // $obj: an escaped literal object.
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw bad(path, '"$obj" takes an object');
      }
      return decodeEntries(v as Record<string, unknown>, `${path}.$obj`, depth + 1);
  }
}

/**
 * Encodes a term (or any value made of terms and plain containers, such as
 * a list of tuples) as JSON-safe data; the inverse of {@link termFromJson}.
 */
export function termToJson(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      if (Number.isFinite(value)) return value;
      return { $num: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
    case 'bigint':
      return { $bigint: value.toString() };
    case 'string':
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return null;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) {
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) return value.map(termToJson);
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) {
    Object.defineProperty(out, k, {
      value: termToJson(src[k]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const tag = onlyKey(src);
  return tag !== undefined && TAGS.has(tag) ? { $obj: out } : out;
}
