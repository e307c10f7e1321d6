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

import type { SuperCache } from '@supercache/core';
import { decodePattern, SuperCacheError, type Term, type Tuple } from '@supercache/storage';
import type { FastifyInstance } from 'fastify';
import { termFromJson, termToJson } from './json-terms.js';

/** Most tuples in one `POST /v1/tuples/batch`. */
export const MAX_BATCH_TUPLES = 10_000;

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

const matchBody = {
  type: 'object',
  required: ['pattern'],
  additionalProperties: false,
  properties: {
    pattern: {},
    bindings: { type: 'boolean' },
    partition: {},
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
 * | `POST /v1/tuples/match` | `{ pattern, bindings?, partition? }` | `{ tuples }` or `{ bindings }` |
 * | `PUT /v1/kv/:ns/:key` | `{ value, ttl? }` | `{ ok: true }` |
 * | `GET /v1/kv/:ns/:key` | | `{ key, value }`, 404 `SC_ERR_NOT_FOUND` |
 * | `DELETE /v1/kv/:ns/:key` | | `{ ok: true, removed }` |
 * | `GET /v1/kv/:ns` | | `{ namespace, count, entries: [[key, value], …] }` |
 */
export function registerClientApi(app: FastifyInstance, cache: SuperCache): void {
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

  app.post<{ Body: { pattern: unknown; bindings?: boolean; partition?: unknown } }>(
    '/v1/tuples/match',
    { schema: { body: matchBody } },
    async (request) => {
      const pattern = decodePattern(termFromJson(request.body.pattern, 'pattern'));
      const scope =
        request.body.partition === undefined
          ? undefined
          : { partition: termFromJson(request.body.partition, 'partition') };
      if (request.body.bindings === true) {
        return { bindings: termToJson(await cache.getByMatch(pattern, scope)) };
      }
      return { tuples: termToJson(await cache.getByMatchObject(pattern, scope)) };
    },
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

  app.get<{ Params: { ns: string } }>('/v1/kv/:ns', { schema: { params: nsParams } }, async (request) => {
    const { ns } = request.params;
    const entries = await cache.keyValue(ns).toList();
    return { namespace: ns, count: entries.length, entries: termToJson(entries) };
  });
}
