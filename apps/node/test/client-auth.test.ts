import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientToken, memberCredential } from '@supercache/cluster';
import { SuperCache } from '@supercache/core';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLoopback } from '../src/client-auth.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';
import { createNodeServer } from '../src/server.js';

const SECRET = 'client-auth-secret';
const RW = 'rw-token-0123456789abcdef';
const RO = 'ro-token-0123456789abcdef';

function codeOf(body: string): string | undefined {
  return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
}

describe('JSON client API authentication (server)', () => {
  let cache: SuperCache;
  let app: FastifyInstance;

  beforeEach(async () => {
    cache = await SuperCache.start({ numPartition: 4, nodeId: 'n1' });
    app = await createNodeServer({
      cache,
      logLevel: 'silent',
      clientApi: { auth: { secret: SECRET, tokens: [RW], readOnlyTokens: [RO] } },
    });
  });

  afterEach(async () => {
    await app.close();
    await cache.stop();
  });

  const put = (authorization?: string) =>
    app.inject({
      method: 'PUT',
      url: '/v1/tuples',
      headers: authorization === undefined ? {} : { authorization },
      payload: { tuple: ['k', 1] },
    });

  it('refuses /v1 without a token, or with a wrong one, with 401 SC_ERR_UNAUTHORIZED; nothing is written', async () => {
    for (const header of [
      undefined,
      'Bearer wrong-token-0123456789',
      `Bearer ${RW}x`,
      RW,
      `Bearer ${SECRET}`,
    ]) {
      const r = await put(header);
      expect(r.statusCode).toBe(401);
      expect(codeOf(r.body)).toBe('SC_ERR_UNAUTHORIZED');
    }
    expect(await cache.get(['k'])).toEqual([]);
    const stats = await app.inject({ method: 'GET', url: '/v1/stats' });
    expect(stats.statusCode).toBe(401);
    const state = await app.inject({ method: 'GET', url: '/dashboard/state' });
    expect(state.statusCode).toBe(401);
  });

  it('refuses a member key: members use the peer routes, not the JSON API', async () => {
    const r = await put(`Bearer ${memberCredential(SECRET, 'n1')}`);
    expect(r.statusCode).toBe(401);
    expect(await cache.get(['k'])).toEqual([]);
  });

  it('accepts a configured token and a client token derived from the secret', async () => {
    expect((await put(`Bearer ${RW}`)).statusCode).toBe(200);
    expect(await cache.get(['k'])).toEqual([['k', 1]]);
    const derived = await app.inject({
      method: 'PUT',
      url: '/v1/tuples',
      headers: { authorization: `Bearer ${clientToken(SECRET, 'billing')}` },
      payload: { tuple: ['d', 2] },
    });
    expect(derived.statusCode).toBe(200);
    expect(await cache.get(['d'])).toEqual([['d', 2]]);
  });

  it('lets a read-only token read (GET and the POST lookups) but not write: 403 SC_ERR_FORBIDDEN', async () => {
    await cache.put(['k', 1]);
    for (const token of [RO, clientToken(SECRET, 'reports', { readOnly: true })]) {
      const authorization = `Bearer ${token}`;
      const got = await app.inject({
        method: 'POST',
        url: '/v1/tuples/get',
        headers: { authorization },
        payload: { probe: ['k'] },
      });
      expect(got.statusCode).toBe(200);
      expect(JSON.parse(got.body)).toEqual({ tuples: [['k', 1]] });
      const stats = await app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization } });
      expect(stats.statusCode).toBe(200);
      const write = await app.inject({
        method: 'PUT',
        url: '/v1/tuples',
        headers: { authorization },
        payload: { tuple: ['k', 2] },
      });
      expect(write.statusCode).toBe(403);
      expect(codeOf(write.body)).toBe('SC_ERR_FORBIDDEN');
    }
    expect(await cache.get(['k'])).toEqual([['k', 1]]);
  });

  it('keeps /health, /ready and /metrics open for probes and scrapers', async () => {
    for (const url of ['/health', '/ready', '/metrics']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).not.toBe(401);
    }
  });

  it('refuses a configured token shorter than 16 characters when the server is built', async () => {
    await expect(
      createNodeServer({ cache, logLevel: 'silent', clientApi: { auth: { tokens: ['short'] } } }),
    ).rejects.toMatchObject({ code: 'SC_ERR_BAD_CONFIG' });
  });
});

describe('isLoopback', () => {
  it('tells loopback addresses from the rest', () => {
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopback(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1']) {
      expect(isLoopback(h), h).toBe(false);
    }
  });
});

describe('supercache-node with --client-token and a separate --client-port', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const command = sourceCliCommand(root);
  const started: NodeProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((n) => n.kill()));
  });

  it('serves the JSON API on its own port behind the token, and not on the peer port', async () => {
    const node = await spawnNode(command, {
      id: 'auth1',
      secret: SECRET,
      logLevel: 'silent',
      extraArgs: ['--client-token', RW, '--client-host', '127.0.0.1', '--client-port', '0'],
    });
    started.push(node);
    await node.ready;
    const api = node.events.find((e) => e.event === 'client-api') as
      | { url: string; auth: string }
      | undefined;
    expect(api?.auth).toBe('bearer');
    expect(api?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api?.url).not.toBe(node.url);
    const body = JSON.stringify({ tuple: ['sep', 1] });
    const headers = { 'content-type': 'application/json' };
    const without = await request(`${api!.url}/v1/tuples`, { method: 'PUT', headers, body });
    expect(without.statusCode).toBe(401);
    await without.body.dump();
    const onPeerPort = await request(`${node.url}/v1/tuples`, {
      method: 'PUT',
      headers: { ...headers, authorization: `Bearer ${RW}` },
      body,
    });
    expect(onPeerPort.statusCode).toBe(404);
    await onPeerPort.body.dump();
    const ok = await request(`${api!.url}/v1/tuples`, {
      method: 'PUT',
      headers: { ...headers, authorization: `Bearer ${RW}` },
      body,
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const read = await request(`${api!.url}/v1/tuples/get`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${RW}` },
      body: JSON.stringify({ probe: ['sep'] }),
    });
    expect(await read.body.json()).toEqual({ tuples: [['sep', 1]] });
    expect(await node.stop()).toBe(0);
  }, 60_000);
});
