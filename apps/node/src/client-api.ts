/**
 * The JSON client API: tuples and KeyValue namespaces over HTTP, so `curl`
 * works against any node. It is for operations and debugging, not speed:
 * each request is one SuperCache call (applications embed SuperCache, or
 * use the MessagePack peer protocol, for throughput).
 *
 * Terms travel in the JSON form of `json-terms.ts`; patterns add the
 * storage package's `$sc` marker tags. Bodies are checked by JSON schemas
 * (a failure is 400 `SC_ERR_BAD_REQUEST`), then terms by SuperCache itself.
 */

import type { SuperCache, TableCursor } from '@supercache/core';
import { decodePattern, type Page, SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { termFromJson, termToJson } from './json-terms.js';
import { PageCursors } from './page-cursors.js';

/** Most tuples in one `POST /v1/tuples/batch`. */
export const MAX_BATCH_TUPLES = 10_000;

/** Limits of the client API's listings; see {@link registerClientApi}. */
export interface ClientApiLimits {
  /** Items in a listing page when the request names no `limit`. @defaultValue 1000 */
  defaultPageSize?: number;
  /** Largest `limit` a request may ask for (more: 400). @defaultValue 10000 */
  maxPageSize?: number;
  /** Most open page cursors of one client (its remote address); more: 429 `SC_ERR_LIMIT`. @defaultValue 16 */
  maxCursorsPerClient?: number;
  /** Most open page cursors of the node. @defaultValue 1024 */
  maxCursors?: number;
  /** Idle ms after which a page cursor is closed. @defaultValue 60000 */
  cursorIdleMs?: number;
}

/** The defaults of {@link ClientApiLimits}. */
export const DEFAULT_CLIENT_API_LIMITS: Readonly<Required<ClientApiLimits>> = Object.freeze({
  defaultPageSize: 1000,
  maxPageSize: 10_000,
  maxCursorsPerClient: 16,
  maxCursors: 1024,
  cursorIdleMs: 60_000,
});

function resolveLimits(l: ClientApiLimits | undefined): Readonly<Required<ClientApiLimits>> {
  const out = { ...DEFAULT_CLIENT_API_LIMITS };
  for (const [k, v] of Object.entries(l ?? {})) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 1) {
      throw new SuperCacheError('SC_ERR_BAD_CONFIG', `client API limit ${k} must be a positive integer`);
    }
    (out as Record<string, number>)[k] = v;
  }
  if (out.defaultPageSize > out.maxPageSize) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'defaultPageSize must be at most maxPageSize');
  }
  return Object.freeze(out);
}

const ttlSchema = { type: 'number', minimum: 0 } as const;
const tupleSchema = { type: 'array', minItems: 1 } as const;

const putBody = {
  type: 'object',
  required: ['tuple'],
  additionalProperties: false,
  properties: { tuple: tupleSchema, ttl: ttlSchema },
} as const;

const batchBody = {
  type: 'object',
  required: ['tuples'],
  additionalProperties: false,
  properties: {
    tuples: { type: 'array', minItems: 1, maxItems: MAX_BATCH_TUPLES, items: tupleSchema },
    ttl: ttlSchema,
  },
} as const;

const probeBody = {
  type: 'object',
  required: ['probe'],
  additionalProperties: false,
  properties: { probe: tupleSchema },
} as const;

const keyQuery = {
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: { key: { type: 'string', minLength: 1 }, partition: { type: 'string', minLength: 1 } },
} as const;

const cursorId = { type: 'string', minLength: 1, maxLength: 64 } as const;

function matchBody(maxPageSize: number) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      pattern: {},
      bindings: { type: 'boolean' },
      partition: {},
      limit: { type: 'integer', minimum: 1, maximum: maxPageSize },
      cursor: cursorId,
    },
  } as const;
}

const kvListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,9}$' },
    cursor: cursorId,
  },
} as const;

const kvParams = {
  type: 'object',
  required: ['ns', 'key'],
  properties: { ns: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } },
} as const;

const nsParams = {
  type: 'object',
  required: ['ns'],
  properties: { ns: { type: 'string', minLength: 1 } },
} as const;

const kvBody = {
  type: 'object',
  required: ['value'],
  additionalProperties: false,
  properties: { value: {}, ttl: ttlSchema },
} as const;

/** Parses a JSON-encoded query parameter into a term. */
function queryTerm(raw: string, name: string): Term {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SuperCacheError(
      'SC_ERR_BAD_REQUEST',
      `query parameter ${name} must be JSON (a string key is "\\"user\\"", URL-encoded)`,
      { details: { parameter: name } },
    );
  }
  return termFromJson(parsed, name);
}

function tupleOf(value: unknown, path: string): Tuple {
  return termFromJson(value, path) as Tuple;
}

function ttlOption(ttl: number | undefined): { ttl: number } | undefined {
  return ttl === undefined ? undefined : { ttl };
}

/** Who owns a cursor: the remote address (the API has no client identity of its own yet). */
function clientOf(request: FastifyRequest): string {
  return request.ip;
}

/**
 * Registers the client API routes on `app` (in its context, so the app's
 * error handler answers their failures).
 *
 * | route | body / query | answer |
 * |---|---|---|
 * | `PUT /v1/tuples` | `{ tuple, ttl? }` | `{ ok: true }` |
 * | `POST /v1/tuples/batch` | `{ tuples, ttl? }` | `{ ok: true, count }` |
 * | `POST /v1/tuples/get` | `{ probe }` | `{ tuples }` |
 * | `GET /v1/tuples?key=<json>&partition=<json>` | | `{ tuples }` |
 * | `DELETE /v1/tuples` | `{ probe }` or `?key=&partition=` | `{ ok: true }` |
 * | `POST /v1/tuples/match` | `{ pattern, bindings?, partition?, limit? }` or `{ cursor, bindings? }` | `{ tuples }` or `{ bindings }`, plus `cursor` when more follow |
 * | `DELETE /v1/cursors/:id` | | `{ ok: true, closed }` |
 * | `PUT /v1/kv/:ns/:key` | `{ value, ttl? }` | `{ ok: true }` |
 * | `GET /v1/kv/:ns/:key` | | `{ key, value }`, 404 `SC_ERR_NOT_FOUND` |
 * | `DELETE /v1/kv/:ns/:key` | | `{ ok: true, removed }` |
 * | `GET /v1/kv/:ns?limit=&cursor=` | | `{ namespace, count, entries: [[key, value], …], cursor? }` |
 *
 * Listings come in pages of at most `limit` items (default 1000, at most
 * 10000): an answer with a `cursor` has more; send the cursor back alone
 * for the next page. Cursors belong to the client (remote address) that
 * opened them; each client may hold 16 open (more: 429 `SC_ERR_LIMIT`), and
 * one idle for a minute is closed. A match scoped to one `partition` has no
 * cursor: it is cut at `limit` and says `truncated: true`.
 */
export function registerClientApi(
  app: FastifyInstance,
  cache: SuperCache,
  apiLimits?: ClientApiLimits,
): void {
  const limits = resolveLimits(apiLimits);
  const cursors = new PageCursors({
    maxPerClient: limits.maxCursorsPerClient,
    maxTotal: limits.maxCursors,
    idleMs: limits.cursorIdleMs,
  });
  app.addHook('onClose', async () => {
    await cursors.closeAll();
  });

  app.put<{ Body: { tuple: unknown[]; ttl?: number } }>(
    '/v1/tuples',
    { schema: { body: putBody } },
    async (request) => {
      await cache.put(tupleOf(request.body.tuple, 'tuple'), ttlOption(request.body.ttl));
      return { ok: true };
    },
  );

  app.post<{ Body: { tuples: unknown[][]; ttl?: number } }>(
    '/v1/tuples/batch',
    { schema: { body: batchBody } },
    async (request) => {
      const tuples = request.body.tuples.map((t, i) => tupleOf(t, `tuples[${i}]`));
      await cache.putBatch(tuples, ttlOption(request.body.ttl));
      return { ok: true, count: tuples.length };
    },
  );

  app.post<{ Body: { probe: unknown[] } }>(
    '/v1/tuples/get',
    { schema: { body: probeBody } },
    async (request) => {
      const tuples = await cache.get(tupleOf(request.body.probe, 'probe'));
      return { tuples: termToJson(tuples) };
    },
  );

  app.get<{ Querystring: { key: string; partition?: string } }>(
    '/v1/tuples',
    { schema: { querystring: keyQuery } },
    async (request) => {
      const key = queryTerm(request.query.key, 'key');
      const pd =
        request.query.partition === undefined ? key : queryTerm(request.query.partition, 'partition');
      const tuples = await cache.getByKeyPartition(key, pd);
      return { tuples: termToJson(tuples) };
    },
  );

  app.delete<{ Body: { probe: unknown[] } | undefined; Querystring: { key?: string; partition?: string } }>(
    '/v1/tuples',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: keyQuery.properties,
        },
      },
    },
    async (request) => {
      const { key, partition } = request.query;
      if (key !== undefined) {
        const k = queryTerm(key, 'key');
        await cache.deleteByKeyPartition(k, partition === undefined ? k : queryTerm(partition, 'partition'));
        return { ok: true };
      }
      const body = request.body as unknown;
      if (
        typeof body !== 'object' ||
        body === null ||
        !Array.isArray((body as { probe?: unknown }).probe) ||
        Object.keys(body).length !== 1
      ) {
        throw new SuperCacheError(
          'SC_ERR_BAD_REQUEST',
          'DELETE /v1/tuples takes a JSON body { "probe": [...] } or a ?key= query',
        );
      }
      await cache.delete(tupleOf((body as { probe: unknown[] }).probe, 'probe'));
      return { ok: true };
    },
  );

  /**
   * Answers one page of a listing: the first (opened with `open`) or the
   * next (from the cursor `id`), registering the continuation if more follow.
   */
  const page = async <T>(
    request: FastifyRequest,
    kind: string,
    id: string | undefined,
    open: () => Promise<Page<T, TableCursor>>,
    next: (c: TableCursor) => Promise<Page<T, TableCursor>>,
  ): Promise<{ items: T[]; cursor?: string }> => {
    const owner = clientOf(request);
    let p: Page<T, TableCursor>;
    if (id === undefined) {
      cursors.reserve(owner);
      p = await open();
    } else {
      p = await next(cursors.take(owner, id, kind).continuation as TableCursor);
    }
    if (p.continuation === undefined) return { items: p.items };
    const continuation = p.continuation;
    const cursor = cursors.add(owner, { kind, continuation, close: () => cache.closePage(continuation) });
    return { items: p.items, cursor };
  };

  app.post<{
    Body: { pattern?: unknown; bindings?: boolean; partition?: unknown; limit?: number; cursor?: string };
  }>('/v1/tuples/match', { schema: { body: matchBody(limits.maxPageSize) } }, async (request) => {
    const { cursor, bindings } = request.body;
    const limit = request.body.limit ?? limits.defaultPageSize;
    const kind = bindings === true ? 'match' : 'matchObject';
    if (cursor !== undefined) {
      if (request.body.pattern !== undefined || request.body.partition !== undefined) {
        throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'a cursor request takes no pattern or partition');
      }
    } else if (request.body.pattern === undefined) {
      throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'POST /v1/tuples/match needs a pattern or a cursor');
    }
    if (cursor === undefined && request.body.partition !== undefined) {
      // One partition: its result is bounded by the partition, cut at limit.
      const pattern = decodePattern(termFromJson(request.body.pattern, 'pattern'));
      const scope = { partition: termFromJson(request.body.partition, 'partition') };
      const all =
        bindings === true
          ? await cache.getByMatch(pattern, scope)
          : await cache.getByMatchObject(pattern, scope);
      const items = all.length > limit ? all.slice(0, limit) : all;
      const body: Record<string, unknown> = {
        [bindings === true ? 'bindings' : 'tuples']: termToJson(items),
      };
      if (all.length > limit) body.truncated = true;
      return body;
    }
    const pattern =
      cursor === undefined ? decodePattern(termFromJson(request.body.pattern, 'pattern')) : undefined;
    if (bindings === true) {
      const r = await page(
        request,
        kind,
        cursor,
        () => cache.getByMatchPage(pattern as never, limit),
        (c) => cache.getByMatchPage(c),
      );
      return { bindings: termToJson(r.items), ...(r.cursor === undefined ? {} : { cursor: r.cursor }) };
    }
    const r = await page(
      request,
      kind,
      cursor,
      () => cache.getByMatchObjectPage(pattern as never, limit),
      (c) => cache.getByMatchObjectPage(c),
    );
    return { tuples: termToJson(r.items), ...(r.cursor === undefined ? {} : { cursor: r.cursor }) };
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/cursors/:id',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: cursorId } } } },
    async (request) => ({ ok: true, closed: await cursors.close(clientOf(request), request.params.id) }),
  );

  app.put<{ Params: { ns: string; key: string }; Body: { value: unknown; ttl?: number } }>(
    '/v1/kv/:ns/:key',
    { schema: { params: kvParams, body: kvBody } },
    async (request) => {
      const { ns, key } = request.params;
      await cache
        .keyValue(ns)
        .add(key, termFromJson(request.body.value, 'value'), ttlOption(request.body.ttl));
      return { ok: true };
    },
  );

  app.get<{ Params: { ns: string; key: string } }>(
    '/v1/kv/:ns/:key',
    { schema: { params: kvParams } },
    async (request) => {
      const { ns, key } = request.params;
      const values = await cache.keyValue(ns).getAll(key);
      if (values.length === 0) {
        throw new SuperCacheError(
          'SC_ERR_NOT_FOUND',
          `no value at key ${JSON.stringify(key)} in namespace ${ns}`,
          {
            details: { namespace: ns, key },
          },
        );
      }
      return { key, value: termToJson(values[0]) };
    },
  );

  app.delete<{ Params: { ns: string; key: string } }>(
    '/v1/kv/:ns/:key',
    { schema: { params: kvParams } },
    async (request) => {
      const { ns, key } = request.params;
      const removed = await cache.keyValue(ns).remove(key);
      return { ok: true, removed };
    },
  );

  app.get<{ Params: { ns: string }; Querystring: { limit?: string; cursor?: string } }>(
    '/v1/kv/:ns',
    { schema: { params: nsParams, querystring: kvListQuery } },
    async (request) => {
      const { ns } = request.params;
      const limit = request.query.limit === undefined ? limits.defaultPageSize : Number(request.query.limit);
      if (limit < 1 || limit > limits.maxPageSize) {
        throw new SuperCacheError(
          'SC_ERR_BAD_REQUEST',
          `limit must be an integer from 1 to ${limits.maxPageSize}, got ${limit}`,
        );
      }
      const kv = cache.keyValue(ns);
      const r = await page(
        request,
        `kv:${ns}`,
        request.query.cursor,
        () => kv.toListPage(limit),
        (c) => kv.toListPage(c),
      );
      return {
        namespace: ns,
        count: r.items.length,
        entries: termToJson(r.items),
        ...(r.cursor === undefined ? {} : { cursor: r.cursor }),
      };
    },
  );
}
