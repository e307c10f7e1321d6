import { SuperCacheError } from '@supercache/storage';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  HTTP_STATUS_BY_CODE,
  HttpTransport,
  httpStatusOf,
  MSGPACK_CONTENT_TYPE,
  memberCredential,
  PEER_ROUTES,
  supercachePeerPlugin,
} from '../src/index.js';

const SECRET = 's3cret-cluster-key';
// A member named "client" (the sender the envelopes below name).
const AUTH = {
  authorization: `Bearer ${memberCredential(SECRET, 'client')}`,
  'x-supercache-node': 'client',
  'content-type': MSGPACK_CONTENT_TYPE,
};

function body(response: LightMyRequestResponse): Record<string, unknown> {
  expect(response.headers['content-type']).toBe(MSGPACK_CONTENT_TYPE);
  return decode(response.rawPayload) as Record<string, unknown>;
}

describe('supercachePeerPlugin', () => {
  let app: FastifyInstance;
  let transport: HttpTransport;
  let calls: Array<{ method: string; body: unknown; from: string }>;

  beforeEach(async () => {
    calls = [];
    transport = new HttpTransport({ nodeId: 'server', secret: SECRET });
    for (const method of ['echo', 'other']) {
      transport.handle(method, (b, ctx) => {
        calls.push({ method, body: b, from: ctx.from });
        return b;
      });
    }
    transport.handle('throw', (b) => {
      calls.push({ method: 'throw', body: b, from: '' });
      throw new SuperCacheError(b as 'SC_ERR_NOT_OWNER', 'thrown by handler', { details: { epoch: 3 } });
    });
    await transport.start();
    app = Fastify();
    await app.register(supercachePeerPlugin, { transport, secret: SECRET, bodyLimit: 1024 });
  });

  afterEach(async () => {
    await app.close();
    await transport.stop();
  });

  const call = (payload: unknown, headers: Record<string, string> = AUTH) =>
    app.inject({
      method: 'POST',
      url: PEER_ROUTES.call,
      headers,
      payload: Buffer.from(payload instanceof Uint8Array ? payload : encode(payload)),
    });

  it('answers a valid call with the MessagePack result and tells the handler the sender', async () => {
    const response = await call({
      v: 1,
      from: 'client',
      method: 'echo',
      body: { n: 1n, b: new Uint8Array([1]) },
    });
    expect(response.statusCode).toBe(200);
    expect(body(response)).toEqual({ n: 1n, b: new Uint8Array([1]) });
    expect(calls).toEqual([{ method: 'echo', body: { n: 1n, b: new Uint8Array([1]) }, from: 'client' }]);
  });

  it('answers 401 SC_ERR_UNAUTHORIZED without a secret, and never calls the handler', async () => {
    const response = await call(
      { v: 1, from: 'client', method: 'echo', body: 1 },
      { 'content-type': MSGPACK_CONTENT_TYPE },
    );
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(body(response)).toMatchObject({ code: 'SC_ERR_UNAUTHORIZED', retryable: false });
    expect(calls).toEqual([]);
  });

  it('answers 401 SC_ERR_UNAUTHORIZED with a wrong secret, and never calls the handler', async () => {
    for (const authorization of [
      `Bearer ${SECRET}`,
      `${AUTH.authorization}0`,
      AUTH.authorization.slice(0, -1),
      `Bearer ${memberCredential(`${SECRET}x`, 'client')}`,
      `Bearer ${memberCredential(SECRET, 'other')}`,
      AUTH.authorization.slice(7),
      `bearer ${AUTH.authorization.slice(7)}`,
    ]) {
      const response = await call(
        { v: 1, from: 'client', method: 'echo', body: 1 },
        { authorization, 'x-supercache-node': 'client', 'content-type': MSGPACK_CONTENT_TYPE },
      );
      expect(response.statusCode).toBe(401);
      expect(body(response).code).toBe('SC_ERR_UNAUTHORIZED');
    }
    expect(calls).toEqual([]);
  });

  it('answers 413 SC_ERR_PAYLOAD_TOO_LARGE above bodyLimit, and never calls the handler', async () => {
    const response = await call({ v: 1, from: 'client', method: 'echo', body: 'x'.repeat(2000) });
    expect(response.statusCode).toBe(413);
    expect(body(response).code).toBe('SC_ERR_PAYLOAD_TOO_LARGE');
    expect(calls).toEqual([]);
  });

  it('answers 400 SC_ERR_BAD_REQUEST to a body that is not MessagePack', async () => {
    for (const garbage of [Uint8Array.of(0xc1), Uint8Array.of(0x93, 0x01), Uint8Array.of(0x01, 0x02)]) {
      const response = await call(garbage);
      expect(response.statusCode).toBe(400);
      expect(body(response).code).toBe('SC_ERR_BAD_REQUEST');
    }
    expect(calls).toEqual([]);
  });

  it('answers 400 SC_ERR_BAD_REQUEST to an envelope of the wrong shape', async () => {
    const wrong: unknown[] = [
      [1, 'client', 'echo', 1],
      'just a string',
      { v: 2, from: 'client', method: 'echo', body: 1 },
      { from: 'client', method: 'echo', body: 1 },
      { v: 1, method: 'echo', body: 1 },
      { v: 1, from: '', method: 'echo', body: 1 },
      { v: 1, from: 'client', body: 1 },
      { v: 1, from: 'client', method: 42, body: 1 },
    ];
    for (const envelope of wrong) {
      const response = await call(envelope);
      expect(response.statusCode, JSON.stringify(String(envelope))).toBe(400);
      expect(body(response).code).toBe('SC_ERR_BAD_REQUEST');
    }
    expect(calls).toEqual([]);
  });

  it('answers 400 to an empty body or another content type; 401 when the key is not the named node’s', async () => {
    const empty = await app.inject({ method: 'POST', url: PEER_ROUTES.call, headers: AUTH });
    expect(empty.statusCode).toBe(400);
    const json = await app.inject({
      method: 'POST',
      url: PEER_ROUTES.call,
      headers: { ...AUTH, 'content-type': 'application/json' },
      payload: JSON.stringify({ v: 1, from: 'client', method: 'echo', body: 1 }),
    });
    expect(json.statusCode).toBe(400);
    expect(body(json).code).toBe('SC_ERR_BAD_REQUEST');
    const spoofed = await call(
      { v: 1, from: 'client', method: 'echo', body: 1 },
      { ...AUTH, 'x-supercache-node': 'someone-else' },
    );
    expect(spoofed.statusCode).toBe(401);
    expect(body(spoofed).code).toBe('SC_ERR_UNAUTHORIZED');
    expect(calls).toEqual([]);
  });

  it('answers 404 SC_ERR_UNKNOWN_METHOD to a method without a handler', async () => {
    const response = await call({ v: 1, from: 'client', method: 'missing', body: null });
    expect(response.statusCode).toBe(404);
    expect(body(response)).toMatchObject({ code: 'SC_ERR_UNKNOWN_METHOD', details: { method: 'missing' } });
  });

  it('maps a handler error code to its status and sends the error back whole', async () => {
    for (const [code, status] of [
      ['SC_ERR_NOT_OWNER', 409],
      ['SC_ERR_STALE_EPOCH', 409],
      ['SC_ERR_NO_TABLE', 404],
      ['SC_ERR_BAD_MATCH_SPEC', 400],
      ['SC_ERR_QUORUM_TIMEOUT', 504],
      ['SC_ERR_HANDOFF', 409],
      ['SC_ERR_KEY_EXISTS', 409],
      ['SC_ERR_INTERNAL', 500],
    ] as const) {
      const response = await call({ v: 1, from: 'client', method: 'throw', body: code });
      expect(response.statusCode, code).toBe(status);
      expect(body(response)).toEqual({
        name: 'SuperCacheError',
        code,
        message: 'thrown by handler',
        retryable: false,
        details: { epoch: 3 },
      });
    }
  });

  it('answers 503 SC_ERR_NOT_STARTED while the transport is stopped', async () => {
    await transport.stop();
    const response = await call({ v: 1, from: 'client', method: 'echo', body: 1 });
    expect(response.statusCode).toBe(503);
    expect(body(response).code).toBe('SC_ERR_NOT_STARTED');
  });

  it('runs a batch in order and answers each call with its own result', async () => {
    const response = await app.inject({
      method: 'POST',
      url: PEER_ROUTES.batch,
      headers: AUTH,
      payload: Buffer.from(
        encode({
          v: 1,
          from: 'client',
          calls: [
            [0, 'echo', 'a'],
            [1, 'missing', null],
            [2, 'throw', 'SC_ERR_NOT_OWNER'],
            [3, 'other', 'b'],
          ],
        }),
      ),
    });
    expect(response.statusCode).toBe(200);
    const { results } = body(response) as { results: unknown[][] };
    expect(results.map((r) => [r[0], r[1], r[1] ? r[2] : (r[2] as { code: string }).code])).toEqual([
      [0, true, 'a'],
      [1, false, 'SC_ERR_UNKNOWN_METHOD'],
      [2, false, 'SC_ERR_NOT_OWNER'],
      [3, true, 'b'],
    ]);
    expect(calls.map((c) => c.method)).toEqual(['echo', 'throw', 'other']);
  });

  it('answers 400 to a batch envelope of the wrong shape, calling no handler', async () => {
    const wrong: unknown[] = [
      { v: 1, from: 'client', calls: [] },
      { v: 1, from: 'client', calls: 'nope' },
      { v: 1, from: 'client', calls: [[0, 'echo']] },
      { v: 1, from: 'client', calls: [['0', 'echo', 1]] },
      { v: 1, from: 'client', calls: [[-1, 'echo', 1]] },
      {
        v: 1,
        from: 'client',
        calls: [
          [0, 'echo', 1],
          [0, 'echo', 2],
        ],
      },
      {
        v: 1,
        from: 'client',
        calls: [
          [0, 'echo', 1],
          [1, '', 2],
        ],
      },
    ];
    for (const envelope of wrong) {
      const response = await app.inject({
        method: 'POST',
        url: PEER_ROUTES.batch,
        headers: AUTH,
        payload: Buffer.from(encode(envelope)),
      });
      expect(response.statusCode).toBe(400);
      expect(body(response).code).toBe('SC_ERR_BAD_REQUEST');
    }
    expect(calls).toEqual([]);
  });

  it('refuses a batch above maxBatchCalls', async () => {
    const small = Fastify();
    await small.register(supercachePeerPlugin, { transport, secret: SECRET, maxBatchCalls: 2 });
    const response = await small.inject({
      method: 'POST',
      url: PEER_ROUTES.batch,
      headers: AUTH,
      payload: Buffer.from(encode({ v: 1, from: 'c', calls: [0, 1, 2].map((i) => [i, 'echo', i]) })),
    });
    expect(response.statusCode).toBe(400);
    expect(calls).toEqual([]);
    await small.close();
  });

  it('answers a ping with the node id, behind the secret', async () => {
    const ok = await app.inject({
      method: 'GET',
      url: PEER_ROUTES.ping,
      headers: { authorization: AUTH.authorization, 'x-supercache-node': 'client' },
    });
    expect(ok.statusCode).toBe(200);
    expect(body(ok)).toEqual({ node: 'server' });
    const denied = await app.inject({ method: 'GET', url: PEER_ROUTES.ping });
    expect(denied.statusCode).toBe(401);
  });

  it('leaves the host app alone: its JSON routes, parsers and error handling still work', async () => {
    const host = Fastify();
    host.post('/json', async (request) => ({ got: request.body }));
    await host.register(supercachePeerPlugin, { transport, secret: SECRET });
    const response = await host.inject({ method: 'POST', url: '/json', payload: { a: 1 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ got: { a: 1 } });
    const missing = await host.inject({ method: 'GET', url: '/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/json');
    await host.close();
  });

  it('refuses to register without a secret', async () => {
    const host = Fastify();
    await expect(host.register(supercachePeerPlugin, { transport, secret: '' })).rejects.toMatchObject({
      code: 'SC_ERR_BAD_CONFIG',
    });
  });
});

describe('HTTP_STATUS_BY_CODE', () => {
  it('maps the documented codes to their statuses and anything else to 500', () => {
    const expected: Record<string, number> = {
      SC_ERR_BAD_ARG: 400,
      SC_ERR_INVALID_TERM: 400,
      SC_ERR_BAD_MATCH_SPEC: 400,
      SC_ERR_BAD_REQUEST: 400,
      SC_ERR_UNAUTHORIZED: 401,
      SC_ERR_NO_TABLE: 404,
      SC_ERR_NOT_FOUND: 404,
      SC_ERR_UNKNOWN_METHOD: 404,
      SC_ERR_NOT_OWNER: 409,
      SC_ERR_STALE_EPOCH: 409,
      SC_ERR_PAYLOAD_TOO_LARGE: 413,
      SC_ERR_TIMEOUT: 504,
      SC_ERR_QUORUM_TIMEOUT: 504,
      SC_ERR_PEER_UNAVAILABLE: 503,
      SC_ERR_NOT_STARTED: 503,
      SC_ERR_INTERNAL: 500,
      SC_ERR_ABORTED: 500,
      SC_ERR_SOMETHING_NEW: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect(httpStatusOf(code), code).toBe(status);
    expect(Object.isFrozen(HTTP_STATUS_BY_CODE)).toBe(true);
  });
});
