/**
 * Copies of the data crossing a facade: what a call returns, and what a
 * write stores, are the caller's own, in one process as over the wire.
 */

/**
 * A deep copy of plain data: arrays, plain objects and byte arrays are
 * copied; primitives and class instances (pattern markers such as `_` and
 * `$1`, which are immutable) are returned as they are. A flat tuple of
 * primitives — the common case — costs one array allocation.
 */
export function copyData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    // slice() copies a plain array in one go (and keeps its holes, which no
    // term has); only the objects in it are copied again. Anything else
    // that is an array (a subclass) becomes a plain array, element by element.
    const out: unknown[] = value.constructor === Array ? (value as unknown[]).slice() : Array.from(value);
    const n = out.length;
    for (let i = 0; i < n; i++) {
      const v: unknown = out[i];
      if (typeof v === 'object' && v !== null) out[i] = copyData(v);
    }
    return out as T;
  }
  if (value instanceof Uint8Array) return value.slice() as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = proto === null ? Object.create(null) : {};
  for (const k of Object.keys(value)) {
    const v = copyData((value as Record<string, unknown>)[k]);
    // Assigning "__proto__" would set the copy's prototype, not an own key.
    if (k === '__proto__') {
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    } else out[k] = v;
  }
  return out as T;
}

/**
 * The arguments of a command, with every object among them copied. A list
 * of primitives (a key, a ttl) is returned as it is: the caller built it for
 * this call, so only the objects in it can be shared with anything.
 */
export function copyArgs(args: readonly unknown[]): readonly unknown[] {
  const n = args.length;
  let i = 0;
  while (i < n) {
    const v = args[i];
    if (typeof v === 'object' && v !== null) break;
    i++;
  }
  if (i === n) return args;
  const out = args.slice();
  for (; i < n; i++) out[i] = copyData(out[i]);
  return out;
}
