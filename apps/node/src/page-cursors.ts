/**
 * The open page cursors of the JSON client API: a listing that does not fit
 * in one page answers with a cursor id, and the client asks for the next
 * page with it. Ids are random (128 bits) and bound to the client that
 * opened them (its remote address), so one client can neither read nor
 * close another's. Each client holds at most `maxPerClient` open cursors
 * (more: `SC_ERR_LIMIT`, HTTP 429), the node at most `maxTotal`, and a
 * cursor idle for `idleMs` is closed.
 */

import { randomBytes } from 'node:crypto';
import { SuperCacheError } from '@supercache/storage';

/** What a listing resumes from, and how to release it. */
export interface OpenPage<C> {
  /** The listing's continuation. */
  readonly continuation: C;
  /** What kind of listing it is (a cursor of one kind is refused by another). */
  readonly kind: string;
  /** Releases the continuation's server-side state. */
  readonly close: () => Promise<void>;
}

interface Entry {
  readonly owner: string;
  readonly page: OpenPage<unknown>;
  lastUsed: number;
}

/** Options of {@link PageCursors}. */
export interface PageCursorsOptions {
  /** Most open cursors of one client. @defaultValue 16 */
  maxPerClient?: number;
  /** Most open cursors of the node. @defaultValue 1024 */
  maxTotal?: number;
  /** Idle ms after which a cursor is closed. @defaultValue 60000 */
  idleMs?: number;
  /** Time source. @defaultValue Date.now */
  now?: () => number;
}

/** The registry of open cursors of one server. */
export class PageCursors {
  readonly #entries = new Map<string, Entry>();
  readonly #perClient = new Map<string, number>();
  readonly #maxPerClient: number;
  readonly #maxTotal: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PageCursorsOptions = {}) {
    this.#maxPerClient = options.maxPerClient ?? 16;
    this.#maxTotal = options.maxTotal ?? 1024;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Open cursors (of `owner` when given). */
  count(owner?: string): number {
    return owner === undefined ? this.#entries.size : (this.#perClient.get(owner) ?? 0);
  }

  /**
   * Checks that `owner` may open one more cursor; call before opening the
   * listing, so a refused client costs the cluster nothing.
   * @throws SuperCacheError `SC_ERR_LIMIT` (429, retryable) when it holds
   *   `maxPerClient` already, or the node `maxTotal`.
   */
  reserve(owner: string): void {
    this.#sweep();
    const mine = this.count(owner);
    if (mine >= this.#maxPerClient) {
      throw new SuperCacheError(
        'SC_ERR_LIMIT',
        `this client has ${mine} open cursors (limit ${this.#maxPerClient}): read them to the end or DELETE /v1/cursors/<id>`,
        { retryable: true, details: { open: mine, limit: this.#maxPerClient } },
      );
    }
    if (this.#entries.size >= this.#maxTotal) {
      throw new SuperCacheError(
        'SC_ERR_LIMIT',
        `the node has ${this.#entries.size} open cursors (limit ${this.#maxTotal})`,
        { retryable: true, details: { open: this.#entries.size, limit: this.#maxTotal } },
      );
    }
  }

  /** Registers an open listing for `owner`; returns its cursor id. */
  add(owner: string, page: OpenPage<unknown>): string {
    const id = randomBytes(16).toString('hex');
    this.#entries.set(id, { owner, page, lastUsed: this.#now() });
    this.#perClient.set(owner, this.count(owner) + 1);
    this.#arm();
    return id;
  }

  /**
   * Takes the cursor `id` of `owner` out of the registry (the caller reads
   * its next page, then {@link PageCursors.add}s the next continuation).
   * @throws SuperCacheError `SC_ERR_BAD_CONTINUATION` (400) for an id that is
   *   unknown, expired, another client's, or of another kind.
   */
  take(owner: string, id: string, kind: string): OpenPage<unknown> {
    this.#sweep();
    const e = this.#entries.get(id);
    if (e === undefined || e.owner !== owner || e.page.kind !== kind) {
      throw new SuperCacheError(
        'SC_ERR_BAD_CONTINUATION',
        `cursor ${JSON.stringify(id)} is unknown, expired, or not a ${kind} cursor of this client`,
      );
    }
    this.#remove(id, e);
    return e.page;
  }

  /** Closes the cursor `id` of `owner`; false when there is none. */
  async close(owner: string, id: string): Promise<boolean> {
    const e = this.#entries.get(id);
    if (e === undefined || e.owner !== owner) return false;
    this.#remove(id, e);
    await e.page.close().catch(() => {});
    return true;
  }

  /** Closes every cursor (the server stops). */
  async closeAll(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const all = [...this.#entries.entries()];
    for (const [id, e] of all) this.#remove(id, e);
    await Promise.all(all.map(([, e]) => e.page.close().catch(() => {})));
  }

  #remove(id: string, e: Entry): void {
    this.#entries.delete(id);
    const left = this.count(e.owner) - 1;
    if (left <= 0) this.#perClient.delete(e.owner);
    else this.#perClient.set(e.owner, left);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, e] of this.#entries) {
      if (now - e.lastUsed > this.#idleMs) {
        this.#remove(id, e);
        e.page.close().catch(() => {});
      }
    }
    if (this.#entries.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#sweep(), Math.max(1000, Math.floor(this.#idleMs / 2)));
    this.#timer.unref();
  }
}
