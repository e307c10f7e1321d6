/**
 * The JSON client API's bounds (issue 8, §7 and §8): listings come in
 * pages with cursors capped per client, a KV key over the path limit and a
 * `__proto__` key in a body answer in the documented shape.
 */

import { SuperCache } from '@supercache/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_API_LIMITS } from '../src/client-api.js';
import { createNodeServer, MAX_PARAM_LENGTH } from '../src/server.js';

function json(r: LightMyRequestResponse): Record<string, unknown> {
  return JSON.parse(r.body) as Record<string, unknown>;
}

function errorOf(r: LightMyRequestResponse): { code: string; message: string } {
  return json(r).error as { code: string; message: string };
}

const WILD = { $sc: '_' };

describe('JSON client API limits', () => {
  let cache: SuperCache;
  let app: FastifyInstance;

  beforeEach(async () => {
    cache = await SuperCache.start({ numPartition: 4, nodeId: 'n1' });
    app = await createNodeServer({
      cache,
      logLevel: 'silent',
      api: { maxCursorsPerClient: 3, maxPageSize: 500, defaultPageSize: 100 },
    });
  });

  afterEach(async () => {
    await app.close();
    await cache.stop();
  });

  const match = (payload: Record<string, unknown>, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'POST', url: '/v1/tuples/match', payload, remoteAddress });

  it('documents its defaults', () => {
    expect(DEFAULT_CLIENT_API_LIMITS).toEqual({
      defaultPageSize: 1000,
      maxPageSize: 10_000,
      maxCursorsPerClient: 16,
      maxCursors: 1024,
      cursorIdleMs: 60_000,
    });
  });

  it('pages a match of everything: every tuple exactly once, never more than the page size at a time', async () => {
    const tuples = Array.from({ length: 1234 }, (_, i) => [`k${i}`, i]);
    await cache.putBatch(tuples);
    const seen = new Set<string>();
    let r = await match({ pattern: [WILD, WILD] });
    let pages = 0;
    for (;;) {
      expect(r.statusCode).toBe(200);
      const body = json(r);
      const page = body.tuples as Array<[string, number]>;
      expect(page.length).toBeLessThanOrEqual(100);
      for (const [k] of page) {
        expect(seen.has(k)).toBe(false);
        seen.add(k);
      }
      pages++;
      if (body.cursor === undefined) break;
      expect(pages).toBeLessThan(20);
      r = await match({ cursor: body.cursor });
    }
    expect(seen.size).toBe(1234);
    expect(pages).toBe(13);
  });

  it('takes an explicit limit up to the maximum and refuses one above it with 400', async () => {
    await cache.putBatch(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const r = await match({ pattern: [WILD, WILD], limit: 7, bindings: true });
    expect((json(r).bindings as unknown[]).length).toBe(7);
    expect(typeof json(r).cursor).toBe('string');
    await app.inject({ method: 'DELETE', url: `/v1/cursors/${json(r).cursor}` });
    const over = await match({ pattern: [WILD, WILD], limit: 501 });
    expect(over.statusCode).toBe(400);
    expect(errorOf(over).code).toBe('SC_ERR_BAD_REQUEST');
    const none = await match({});
    expect(none.statusCode).toBe(400);
  });

  it('caps open cursors per client with 429 SC_ERR_LIMIT, and frees a slot when one is closed', async () => {
    await cache.putBatch(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    const cursors: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await match({ pattern: [WILD, WILD], limit: 10 });
      cursors.push(json(r).cursor as string);
    }
    const refused = await match({ pattern: [WILD, WILD], limit: 10 });
    expect(refused.statusCode).toBe(429);
    expect(errorOf(refused).code).toBe('SC_ERR_LIMIT');
    // Another client is not affected.
    const other = await match({ pattern: [WILD, WILD], limit: 10 }, '127.0.0.9');
    expect(other.statusCode).toBe(200);
    // And cannot read or close this client's cursors.
    const stolen = await match({ cursor: cursors[0] }, '127.0.0.9');
    expect(stolen.statusCode).toBe(400);
    expect(errorOf(stolen).code).toBe('SC_ERR_BAD_CONTINUATION');
    const closed = await app.inject({ method: 'DELETE', url: `/v1/cursors/${cursors[0]}` });
    expect(json(closed)).toEqual({ ok: true, closed: true });
    expect((await match({ pattern: [WILD, WILD], limit: 10 })).statusCode).toBe(200);
    // A closed cursor is gone.
    const gone = await match({ cursor: cursors[0] });
    expect(errorOf(gone).code).toBe('SC_ERR_BAD_CONTINUATION');
  });

  it('cuts a match in one partition at the limit and says so', async () => {
    await cache.putBatch(Array.from({ length: 40 }, (_, i) => ['same', i]));
    const r = await match({ pattern: ['same', WILD], partition: 'same', limit: 5 });
    expect(r.statusCode).toBe(200);
    expect((json(r).tuples as unknown[]).length).toBeLessThanOrEqual(5);
  });

  it('pages a KV namespace listing', async () => {
    const kv = cache.keyValue('ns');
    for (let i = 0; i < 250; i++) await kv.add(`key${i}`, i);
    const keys = new Set<string>();
    let url = '/v1/kv/ns?limit=100';
    for (let pages = 0; pages < 10; pages++) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      const body = json(r);
      expect(body.count).toBe((body.entries as unknown[]).length);
      for (const [k] of body.entries as Array<[string, number]>) keys.add(k);
      if (body.cursor === undefined) break;
      url = `/v1/kv/ns?cursor=${body.cursor as string}`;
    }
    expect(keys.size).toBe(250);
    const bad = await app.inject({ method: 'GET', url: '/v1/kv/ns?limit=0' });
    expect(bad.statusCode).toBe(400);
  });

  it('answers a KV key longer than the path limit with the documented 400 error shape', async () => {
    const key = 'k'.repeat(MAX_PARAM_LENGTH + 1);
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const r = await app.inject({
        method,
        url: `/v1/kv/ns/${key}`,
        ...(method === 'PUT' ? { payload: { value: 1 } } : {}),
      });
      expect(r.statusCode).toBe(400);
      expect(json(r)).toEqual({
        error: {
          code: 'SC_ERR_BAD_REQUEST',
          message: expect.stringContaining(`longer than ${MAX_PARAM_LENGTH}`),
          retryable: false,
          details: { limit: MAX_PARAM_LENGTH },
        },
      });
    }
    // A key of 200 characters (over Fastify's default of 100) works.
    const long = 'k'.repeat(200);
    expect(
      (await app.inject({ method: 'PUT', url: `/v1/kv/ns/${long}`, payload: { value: 1 } })).statusCode,
    ).toBe(200);
    expect(json(await app.inject({ method: 'GET', url: `/v1/kv/ns/${long}` }))).toEqual({
      key: long,
      value: 1,
    });
  });

  it('stores a term with __proto__ and constructor keys from a JSON body and reads it back exactly', async () => {
    const payload = '{"tuple":[{"__proto__":{"x":1},"constructor":{"prototype":2}},"v"]}';
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/tuples',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(put.statusCode).toBe(200);
    const got = await app.inject({
      method: 'GET',
      url: `/v1/tuples?key=${encodeURIComponent('{"__proto__":{"x":1},"constructor":{"prototype":2}}')}`,
    });
    expect(got.body).toBe('{"tuples":[[{"__proto__":{"x":1},"constructor":{"prototype":2}},"v"]]}');
    // Nothing leaked onto Object.prototype.
    expect(({} as { x?: unknown }).x).toBeUndefined();
    // A "__proto__" where the envelope has fixed fields is named, not called invalid JSON.
    const extra = await app.inject({
      method: 'PUT',
      url: '/v1/tuples',
      headers: { 'content-type': 'application/json' },
      payload: '{"tuple":["a"],"__proto__":{"ttl":1}}',
    });
    expect(extra.statusCode).toBe(400);
    expect(errorOf(extra).code).toBe('SC_ERR_BAD_REQUEST');
    expect(errorOf(extra).message).not.toContain('not valid JSON');
  });
});
