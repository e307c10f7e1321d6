/**
 * An indexed binary min-heap of expiry times. Each item remembers its own
 * position (`hi`), so an item can be removed or re-timed in O(log n), and
 * the table can read an item's expiry time in O(1) without storing a double
 * on every record (a double field would box a heap number per record).
 *
 * @internal
 */

/** Something the heap can hold: it owns its heap index, `-1` when absent. */
export interface HeapItem {
  hi: number;
}

/** @internal */
export class ExpiryHeap<T extends HeapItem> {
  #items: T[] = [];
  // A plain number[] of doubles keeps unboxed PACKED_DOUBLE elements.
  #times: number[] = [];

  /** Number of items with an expiry. */
  get size(): number {
    return this.#items.length;
  }

  /** The smallest expiry time, `Infinity` when empty. */
  minTime(): number {
    return this.#times.length === 0 ? Number.POSITIVE_INFINITY : (this.#times[0] as number);
  }

  /** The item that expires first. */
  min(): T | undefined {
    return this.#items[0];
  }

  /** The expiry time of an item that is in the heap. */
  time(item: T): number {
    return this.#times[item.hi] as number;
  }

  /** Adds an item that is not in the heap. */
  push(item: T, time: number): void {
    const i = this.#items.length;
    this.#items.push(item);
    this.#times.push(time);
    item.hi = i;
    this.#up(i);
  }

  /** Sets the time of an item, adding it when absent. */
  set(item: T, time: number): void {
    if (item.hi === -1) {
      this.push(item, time);
      return;
    }
    const i = item.hi;
    const old = this.#times[i] as number;
    this.#times[i] = time;
    if (time < old) this.#up(i);
    else if (time > old) this.#down(i);
  }

  /** Removes an item (no-op when absent). */
  remove(item: T): void {
    const i = item.hi;
    if (i === -1) return;
    item.hi = -1;
    const last = this.#items.length - 1;
    const lastItem = this.#items.pop() as T;
    const lastTime = this.#times.pop() as number;
    if (i === last) return;
    this.#items[i] = lastItem;
    this.#times[i] = lastTime;
    lastItem.hi = i;
    this.#up(i);
    this.#down(lastItem.hi);
  }

  /** Forgets every item. */
  clear(): void {
    for (const item of this.#items) item.hi = -1;
    this.#items = [];
    this.#times = [];
  }

  /**
   * Calls `fn` for every item whose time is `<= t`, without changing the
   * heap. Visits only those items and their direct children: O(k).
   */
  forEachAtMost(t: number, fn: (item: T) => void): void {
    const times = this.#times;
    if (times.length === 0 || (times[0] as number) > t) return;
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop() as number;
      fn(this.#items[i] as T);
      const l = 2 * i + 1;
      if (l < times.length && (times[l] as number) <= t) stack.push(l);
      if (l + 1 < times.length && (times[l + 1] as number) <= t) stack.push(l + 1);
    }
  }

  /** Number of items whose time is `<= t`; O(k). */
  countAtMost(t: number): number {
    let n = 0;
    this.forEachAtMost(t, () => {
      n++;
    });
    return n;
  }

  #up(i: number): void {
    const items = this.#items;
    const times = this.#times;
    const item = items[i] as T;
    const time = times[i] as number;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p] as number;
      if (pt <= time) break;
      const pi = items[p] as T;
      items[i] = pi;
      times[i] = pt;
      pi.hi = i;
      i = p;
    }
    items[i] = item;
    times[i] = time;
    item.hi = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const times = this.#times;
    const n = items.length;
    const item = items[i] as T;
    const time = times[i] as number;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (times[r] as number) < (times[l] as number)) c = r;
      const ct = times[c] as number;
      if (ct >= time) break;
      const ci = items[c] as T;
      items[i] = ci;
      times[i] = ct;
      ci.hi = i;
      i = c;
    }
    items[i] = item;
    times[i] = time;
    item.hi = i;
  }
}
