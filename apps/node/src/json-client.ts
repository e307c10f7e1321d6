/**
 * A small client of the JSON client API over an undici `Pool` (keep-alive
 * connections to one node). The demo, the multi-process tests and the
 * benchmark drive nodes with it; it is also a readable example of the API.
 */

import { SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import { Pool } from 'undici';
import { termFromJson, termToJson } from './json-terms.js';

/** Options of a {@link JsonClient}. */
export interface JsonClientOptions {
  /** Keep-alive connections. @defaultValue 16 */
  connections?: number;
  /** Per-request timeout in ms. @defaultValue 15000 */
  timeoutMs?: number;
  /**
   * For an `https:` node: the CA its certificate must chain to (else Node's
   * public CAs), and this client's own certificate and key when the node
   * requires client certificates (`--tls-client-auth require`).
   */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; cert?: string | Buffer; key?: string | Buffer };
  /** Bearer token of the client API (`--client-token`), sent with every request. */
  token?: string;
}

/** What `GET /v1/stats` answers (the fields the tools read). */
export interface NodeStatsBody {
  readonly node: string;
  readonly state: string;
  readonly epoch: number;
  readonly size: number;
  readonly ownedPartitions: number;
  readonly numPartition: number;
  readonly handoff?: {
    readonly committed: number;
    readonly entriesSent: number;
    readonly entriesReceived: number;
    readonly lastDurationMs: number;
    readonly lastEntries: number;
  };
  /** Handoffs this node led (as leader), oldest first. */
  readonly handoffs: ReadonlyArray<{
    readonly id: string;
    readonly phase: 'committed' | 'aborted';
    readonly entries: number;
    readonly durationMs: number;
    readonly at: number;
  }>;
  readonly routing?: { readonly remoteCalls: number; readonly redirects: number };
}

/** A client of one node's JSON API. Errors are rebuilt as SuperCacheErrors. */
export class JsonClient {
  /** The node's URL. */
  readonly url: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #auth: Record<string, string>;

  constructor(url: string, options: JsonClientOptions = {}) {
    this.url = url;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#auth = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    this.#pool = new Pool(url, {
      connections: options.connections ?? 16,
      keepAliveTimeout: 4_000,
      ...(options.tls === undefined ? {} : { connect: { ...options.tls, rejectUnauthorized: true } }),
    });
  }

  /** Sends one request; resolves with the parsed JSON body of a 2xx answer. */
  async request(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const response = await this.#pool.request({
      method,
      path,
      headers: body === undefined ? this.#auth : { ...this.#auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed;
    const e = (parsed as { error?: { code?: string; message?: string; retryable?: boolean } } | undefined)
      ?.error;
    throw new SuperCacheError(
      (e?.code ?? 'SC_ERR_INTERNAL') as 'SC_ERR_INTERNAL',
      `${method} ${path} → HTTP ${response.statusCode}: ${e?.message ?? text.slice(0, 200)}`,
      { retryable: e?.retryable ?? false, details: { status: response.statusCode } },
    );
  }

  /** `PUT /v1/tuples`. */
  async put(tuple: Tuple, ttl?: number): Promise<void> {
    await this.request('PUT', '/v1/tuples', {
      tuple: termToJson(tuple),
      ...(ttl === undefined ? {} : { ttl }),
    });
  }

  /** `POST /v1/tuples/batch`. */
  async putBatch(tuples: readonly Tuple[]): Promise<void> {
    await this.request('POST', '/v1/tuples/batch', { tuples: termToJson(tuples) });
  }

  /** `GET /v1/tuples?key=…`: the tuples at `key` (partitioned by the key). */
  async get(key: Term): Promise<Tuple[]> {
    const body = (await this.request(
      'GET',
      `/v1/tuples?key=${encodeURIComponent(JSON.stringify(termToJson(key)))}`,
    )) as {
      tuples: unknown;
    };
    return termFromJson(body.tuples) as Tuple[];
  }

  /** `DELETE /v1/tuples?key=…`. */
  async delete(key: Term): Promise<void> {
    await this.request('DELETE', `/v1/tuples?key=${encodeURIComponent(JSON.stringify(termToJson(key)))}`);
  }

  /**
   * `POST /v1/tuples/match`, following the pages to the end (at most
   * `maxPages` of `limit`); `pattern` is already in the JSON marker form.
   * @throws SuperCacheError `SC_ERR_LIMIT` when more pages follow than `maxPages`.
   */
  async match(pattern: unknown, options: { limit?: number; maxPages?: number } = {}): Promise<Tuple[]> {
    const out: Tuple[] = [];
    const maxPages = options.maxPages ?? 1000;
    let body = (await this.request('POST', '/v1/tuples/match', {
      pattern,
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    })) as { tuples: unknown; cursor?: string };
    for (let pages = 1; ; pages++) {
      out.push(...(termFromJson(body.tuples) as Tuple[]));
      if (body.cursor === undefined) return out;
      if (pages >= maxPages) {
        await this.request('DELETE', `/v1/cursors/${body.cursor}`).catch(() => {});
        throw new SuperCacheError('SC_ERR_LIMIT', `match has more than ${maxPages} pages`);
      }
      body = (await this.request('POST', '/v1/tuples/match', { cursor: body.cursor })) as {
        tuples: unknown;
        cursor?: string;
      };
    }
  }

  /** `GET /v1/stats`. */
  stats(): Promise<NodeStatsBody> {
    return this.request('GET', '/v1/stats') as Promise<NodeStatsBody>;
  }

  /** `GET /health`. */
  health(): Promise<{ node: string; state: string; epoch: number; members: Array<{ id: string }> }> {
    return this.request('GET', '/health') as Promise<{
      node: string;
      state: string;
      epoch: number;
      members: Array<{ id: string }>;
    }>;
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
