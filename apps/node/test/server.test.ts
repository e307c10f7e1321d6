import {
  type ClusterNode,
  encode,
  HttpTransport,
  MSGPACK_CONTENT_TYPE,
  memberCredential,
  PEER_ROUTES,
} from '@supercache/cluster';
import { SuperCache } from '@supercache/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterSource, NodeHealthReport } from '../src/cluster-source.js';
import { createNodeServer } from '../src/server.js';

const SECRET = 'test-secret';

function json(r: LightMyRequestResponse): Record<string, unknown> {
  return JSON.parse(r.body) as Record<string, unknown>;
}

function errorCode(r: LightMyRequestResponse): string {
  return (json(r).error as { code: string }).code;
}

describe('node server (local mode)', () => {
  let cache: SuperCache;
  let app: FastifyInstance;

  beforeEach(async () => {
    cache = await SuperCache.start({ numPartition: 4, nodeId: 'n1' });
    app = await createNodeServer({ cache, logLevel: 'silent' });
  });

  afterEach(async () => {
    await app.close();
    await cache.stop();
  });

  describe('tuples', () => {
    it('writes a tuple and reads it back by probe and by key', async () => {
      const put = await app.inject({
        method: 'PUT',
        url: '/v1/tuples',
        payload: { tuple: ['user', 1, 'Alice'] },
      });
      expect(put.statusCode).toBe(200);
      expect(json(put)).toEqual({ ok: true });
      const got = await app.inject({ method: 'POST', url: '/v1/tuples/get', payload: { probe: ['user'] } });
      expect(got.statusCode).toBe(200);
      expect(json(got)).toEqual({ tuples: [['user', 1, 'Alice']] });
      const byKey = await app.inject({
        method: 'GET',
        url: `/v1/tuples?key=${encodeURIComponent('"user"')}`,
      });
      expect(json(byKey)).toEqual({ tuples: [['user', 1, 'Alice']] });
      expect(await cache.get(['user'])).toEqual([['user', 1, 'Alice']]);
    });

    it('keeps bigints, bytes and composite keys intact through the JSON encoding', async () => {
      const tuple = [
        ['order', { $bigint: '9007199254740993' }],
        { $bytes: 'AQID' },
        { $num: 'NaN' },
        { $obj: { $bigint: 'x' } },
      ];
      const put = await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple } });
      expect(put.statusCode).toBe(200);
      const stored = await cache.get([['order', 9007199254740993n]]);
      expect(stored).toHaveLength(1);
      expect(stored[0]?.[1]).toEqual(new Uint8Array([1, 2, 3]));
      expect(Number.isNaN(stored[0]?.[2])).toBe(true);
      expect(stored[0]?.[3]).toEqual({ $bigint: 'x' });
      const key = encodeURIComponent(JSON.stringify(['order', { $bigint: '9007199254740993' }]));
      const got = await app.inject({ method: 'GET', url: `/v1/tuples?key=${key}` });
      expect(json(got)).toEqual({ tuples: [tuple] });
    });

    it('writes a batch and deletes by probe and by key', async () => {
      const tuples = Array.from({ length: 50 }, (_v, i) => [`k${i}`, i]);
      const batch = await app.inject({ method: 'POST', url: '/v1/tuples/batch', payload: { tuples } });
      expect(json(batch)).toEqual({ ok: true, count: 50 });
      expect((await cache.stats()).totals.size).toBe(50);
      const del = await app.inject({ method: 'DELETE', url: '/v1/tuples', payload: { probe: ['k1'] } });
      expect(json(del)).toEqual({ ok: true });
      const delKey = await app.inject({
        method: 'DELETE',
        url: `/v1/tuples?key=${encodeURIComponent('"k2"')}`,
      });
      expect(json(delKey)).toEqual({ ok: true });
      expect(await cache.get(['k1'])).toEqual([]);
      expect(await cache.get(['k2'])).toEqual([]);
      expect((await cache.stats()).totals.size).toBe(48);
    });

    it('applies a TTL given with the write', async () => {
      await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: ['short', 1], ttl: 1 } });
      await new Promise((r) => setTimeout(r, 20));
      const got = await app.inject({ method: 'POST', url: '/v1/tuples/get', payload: { probe: ['short'] } });
      expect(json(got)).toEqual({ tuples: [] });
    });

    it('matches patterns written with the $sc marker tags, as objects or bindings', async () => {
      await cache.putBatch([
        ['a', 1, 'x'],
        ['b', 2, 'x'],
        ['c', 3, 'y'],
      ]);
      const objects = await app.inject({
        method: 'POST',
        url: '/v1/tuples/match',
        payload: { pattern: [{ $sc: '_' }, { $sc: '_' }, 'x'] },
      });
      expect(objects.statusCode).toBe(200);
      const tuples = json(objects).tuples as unknown[][];
      expect(tuples.sort()).toEqual([
        ['a', 1, 'x'],
        ['b', 2, 'x'],
      ]);
      const bindings = await app.inject({
        method: 'POST',
        url: '/v1/tuples/match',
        payload: { pattern: [{ $sc: 'var', n: 1 }, { $sc: '_' }, 'y'], bindings: true },
      });
      expect(json(bindings)).toEqual({ bindings: [['c']] });
    });

    it('rejects bodies that fail the schema with 400 SC_ERR_BAD_REQUEST and writes nothing', async () => {
      const cases: Array<{
        method: 'PUT' | 'POST' | 'DELETE';
        url: string;
        payload: Record<string, unknown>;
      }> = [
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: 'not-an-array' } },
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: [] } },
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: ['a'], extra: 1 } },
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: ['a'], ttl: -1 } },
        { method: 'PUT', url: '/v1/tuples', payload: {} },
        { method: 'POST', url: '/v1/tuples/batch', payload: { tuples: [['a'], 'b'] } },
        { method: 'POST', url: '/v1/tuples/get', payload: { probe: 3 } },
        { method: 'DELETE', url: '/v1/tuples', payload: { nope: 1 } },
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: [{ $bigint: '12x' }] } },
        { method: 'PUT', url: '/v1/tuples', payload: { tuple: [{ $bytes: '***' }] } },
      ];
      for (const c of cases) {
        const r = await app.inject({ method: c.method, url: c.url, payload: c.payload });
        expect(r.statusCode, `${c.method} ${c.url} ${JSON.stringify(c.payload)}`).toBe(400);
        expect(errorCode(r)).toBe('SC_ERR_BAD_REQUEST');
      }
      const badPattern = await app.inject({
        method: 'POST',
        url: '/v1/tuples/match',
        payload: { pattern: [{ $sc: 'bogus' }] },
      });
      expect(badPattern.statusCode).toBe(400);
      expect(errorCode(badPattern)).toBe('SC_ERR_BAD_MATCH_SPEC');
      const garbage = await app.inject({
        method: 'PUT',
        url: '/v1/tuples',
        headers: { 'content-type': 'application/json' },
        payload: '{"tuple": [',
      });
      expect(garbage.statusCode).toBe(400);
      expect(errorCode(garbage)).toBe('SC_ERR_BAD_REQUEST');
      const badKey = await app.inject({ method: 'GET', url: '/v1/tuples?key=notjson' });
      expect(badKey.statusCode).toBe(400);
      expect(errorCode(badKey)).toBe('SC_ERR_BAD_REQUEST');
      expect((await cache.stats()).totals.size).toBe(0);
    });

    it('maps a SuperCache error to its status: a too-deep term is 400 with its code', async () => {
      let deep: unknown = 'x';
      for (let i = 0; i < 100; i++) deep = [deep];
      const r = await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: ['k', deep] } });
      expect(r.statusCode).toBe(400);
      expect(errorCode(r)).toBe('SC_ERR_BAD_REQUEST');
    });

    it('answers 413 SC_ERR_PAYLOAD_TOO_LARGE for a body over the limit', async () => {
      const small = await createNodeServer({ cache, logLevel: 'silent', bodyLimit: 1024 });
      try {
        const r = await small.inject({
          method: 'PUT',
          url: '/v1/tuples',
          payload: { tuple: ['k', 'x'.repeat(4096)] },
        });
        expect(r.statusCode).toBe(413);
        expect(errorCode(r)).toBe('SC_ERR_PAYLOAD_TOO_LARGE');
      } finally {
        await small.close();
      }
    });

    it('answers 503 SC_ERR_NOT_STARTED once the cache is stopped', async () => {
      await cache.stop();
      const r = await app.inject({ method: 'POST', url: '/v1/tuples/get', payload: { probe: ['k'] } });
      expect(r.statusCode).toBe(503);
      expect(errorCode(r)).toBe('SC_ERR_NOT_STARTED');
    });

    it('answers an unknown route with 404 SC_ERR_NOT_FOUND', async () => {
      const r = await app.inject({ method: 'GET', url: '/v1/nothing' });
      expect(r.statusCode).toBe(404);
      expect(errorCode(r)).toBe('SC_ERR_NOT_FOUND');
    });
  });

  describe('key-value', () => {
    it('puts, gets, lists and deletes values of a namespace', async () => {
      const put = await app.inject({
        method: 'PUT',
        url: '/v1/kv/session/u1',
        payload: { value: { name: 'Alice' } },
      });
      expect(json(put)).toEqual({ ok: true });
      await app.inject({ method: 'PUT', url: '/v1/kv/session/u2', payload: { value: 2 } });
      await app.inject({ method: 'PUT', url: '/v1/kv/other/u1', payload: { value: 'other' } });
      const got = await app.inject({ method: 'GET', url: '/v1/kv/session/u1' });
      expect(got.statusCode).toBe(200);
      expect(json(got)).toEqual({ key: 'u1', value: { name: 'Alice' } });
      expect(await cache.keyValue('session').get('u1')).toEqual({ name: 'Alice' });
      const list = await app.inject({ method: 'GET', url: '/v1/kv/session' });
      const body = json(list);
      expect(body.count).toBe(2);
      expect((body.entries as unknown[][]).sort()).toEqual([
        ['u1', { name: 'Alice' }],
        ['u2', 2],
      ]);
      const del = await app.inject({ method: 'DELETE', url: '/v1/kv/session/u1' });
      expect(json(del)).toEqual({ ok: true, removed: true });
      const gone = await app.inject({ method: 'GET', url: '/v1/kv/session/u1' });
      expect(gone.statusCode).toBe(404);
      expect(errorCode(gone)).toBe('SC_ERR_NOT_FOUND');
    });

    it('answers 404 SC_ERR_NOT_FOUND for a missing key and 400 for a bad body', async () => {
      const missing = await app.inject({ method: 'GET', url: '/v1/kv/session/nobody' });
      expect(missing.statusCode).toBe(404);
      expect(errorCode(missing)).toBe('SC_ERR_NOT_FOUND');
      const bad = await app.inject({ method: 'PUT', url: '/v1/kv/session/u1', payload: { val: 1 } });
      expect(bad.statusCode).toBe(400);
      expect(errorCode(bad)).toBe('SC_ERR_BAD_REQUEST');
    });
  });

  describe('health, readiness and metrics', () => {
    it('reports liveness with the node id, epoch and members', async () => {
      const r = await app.inject({ method: 'GET', url: '/health' });
      expect(r.statusCode).toBe(200);
      expect(json(r)).toMatchObject({
        status: 'ok',
        node: 'n1',
        state: 'running',
        epoch: 0,
        members: [{ id: 'n1' }],
        alerts: [],
      });
    });

    it('is ready while the cache runs and not after it stops', async () => {
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      await cache.stop();
      const r = await app.inject({ method: 'GET', url: '/ready' });
      expect(r.statusCode).toBe(503);
      expect(json(r)).toMatchObject({ ready: false, node: 'n1' });
    });

    it('exposes cache counters, size and the HTTP histogram in Prometheus format', async () => {
      await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: ['a', 1] } });
      await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: ['b', 1] } });
      await app.inject({ method: 'POST', url: '/v1/tuples/get', payload: { probe: ['a'] } });
      await app.inject({ method: 'POST', url: '/v1/tuples/get', payload: { probe: ['zz'] } });
      const r = await app.inject({ method: 'GET', url: '/metrics' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toContain('text/plain');
      const text = r.body;
      expect(text).toMatch(/supercache_cache_inserts_total\{node="n1"\} 2/);
      expect(text).toMatch(/supercache_cache_hits_total\{node="n1"\} 1/);
      expect(text).toMatch(/supercache_cache_misses_total\{node="n1"\} 1/);
      expect(text).toMatch(/supercache_cache_size\{node="n1"\} 2/);
      expect(text).toMatch(/supercache_partitions_owned\{table="main",node="n1"\} 4/);
      expect(text).toContain('supercache_http_request_duration_seconds_bucket');
      expect(text).toMatch(/route="\/v1\/tuples\/get"/);
      expect(text).toContain('supercache_node_process_cpu_user_seconds_total');
      // A second scrape mirrors, it does not add up.
      const again = await app.inject({ method: 'GET', url: '/metrics' });
      expect(again.body).toMatch(/supercache_cache_inserts_total\{node="n1"\} 2/);
    });

    it('reports the node stats', async () => {
      await cache.putBatch([
        ['a', 1],
        ['b', 2],
      ]);
      const r = await app.inject({ method: 'GET', url: '/v1/stats' });
      expect(json(r)).toMatchObject({ node: 'n1', size: 2, ownedPartitions: 4, numPartition: 4 });
    });
  });
});

// Compile-time check: the cluster package's node is a ClusterSource as it is.
export const nodeIsASource = (node: ClusterNode): ClusterSource => node;

function fakeHealth(status: NodeHealthReport['status']): NodeHealthReport {
  return {
    node: 'a',
    status,
    epoch: 7,
    leader: 'a',
    members: [
      { id: 'a', address: 'http://127.0.0.1:1', alive: true, rttMs: 0, rttAvgMs: 0 },
      { id: 'b', address: 'http://127.0.0.1:2', alive: true, rttMs: 1.5, rttAvgMs: 1.2 },
    ],
    balance: { main: { owned: { a: 5, b: 3 }, localObjects: 10 } },
    successRate: 1,
    replication: {
      main: { factor: 3, copies: 2, shortfall: 1, maxLagRecords: 17, maxLagMs: 250, outOfSync: 1 },
    },
    handoff: {
      active: false,
      committed: 2,
      aborted: 0,
      entriesSent: 120,
      entriesReceived: 80,
      lastDurationMs: 30,
      lastEntries: 60,
    },
    stats: { remoteCalls: 42, redirects: 3, retries: 3, opsOk: 50, opsFailed: 1, served: 70 },
  };
}

describe('node server (with a cluster node and the peer routes)', () => {
  let cache: SuperCache;
  let app: FastifyInstance;
  let transport: HttpTransport;
  let status: NodeHealthReport['status'];
  const cluster: ClusterSource = {
    nodeId: 'a',
    get status() {
      return status;
    },
    health: () => fakeHealth(status),
  };

  beforeEach(async () => {
    status = 'joining';
    cache = await SuperCache.start({ numPartition: 8, nodeId: 'a' });
    transport = new HttpTransport({ nodeId: 'a', secret: SECRET });
    transport.handle('echo', (body) => body);
    await transport.start();
    app = await createNodeServer({
      cache,
      cluster,
      peer: { endpoint: transport, secret: SECRET, bodyLimit: 2048 },
      logLevel: 'silent',
    });
  });

  afterEach(async () => {
    await app.close();
    await transport.stop();
    await cache.stop();
  });

  it('is live but not ready while joining, ready once running, not ready while leaving', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(json(health)).toMatchObject({
      node: 'a',
      state: 'joining',
      epoch: 7,
      members: [{ id: 'a' }, { id: 'b', rttMs: 1.5 }],
    });
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    status = 'running';
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    status = 'leaving';
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
  });

  it('exports the cluster metrics from the health report', async () => {
    status = 'running';
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/supercache_cluster_members\{node="a"\} 2/);
    expect(text).toMatch(/supercache_cluster_epoch\{node="a"\} 7/);
    expect(text).toMatch(/supercache_cluster_up\{node="a"\} 1/);
    expect(text).toMatch(/supercache_partitions_owned\{table="main",node="a"\} 5/);
    expect(text).toMatch(/supercache_remote_calls_total\{node="a"\} 42/);
    expect(text).toMatch(/supercache_redirects_total\{node="a"\} 3/);
    expect(text).toMatch(/supercache_handoff_entries_sent_total\{node="a"\} 120/);
    expect(text).toMatch(/supercache_handoff_entries_received_total\{node="a"\} 80/);
    expect(text).toMatch(/supercache_peer_rtt_seconds\{peer="b",node="a"\} 0.0015/);
    expect(text).toMatch(/supercache_routed_ops_total\{outcome="failed",node="a"\} 1/);
    expect(text).toMatch(/supercache_replication_lag_records\{table="main",node="a"\} 17/);
    expect(text).toMatch(/supercache_replication_lag_seconds\{table="main",node="a"\} 0.25/);
    expect(text).toMatch(/supercache_replication_shortfall\{table="main",node="a"\} 1/);
    expect(text).toMatch(/supercache_replicas_out_of_sync\{table="main",node="a"\} 1/);
  });

  it('serves the peer routes with the cluster secret and refuses without it', async () => {
    const payload = Buffer.from(encode({ v: 1, from: 'b', method: 'echo', body: { n: 1n } }));
    const ok = await app.inject({
      method: 'POST',
      url: PEER_ROUTES.call,
      headers: {
        authorization: `Bearer ${memberCredential(SECRET, 'b')}`,
        'x-supercache-node': 'b',
        'content-type': MSGPACK_CONTENT_TYPE,
      },
      payload,
    });
    expect(ok.statusCode).toBe(200);
    const denied = await app.inject({
      method: 'POST',
      url: PEER_ROUTES.call,
      headers: { authorization: 'Bearer wrong', 'content-type': MSGPACK_CONTENT_TYPE },
      payload,
    });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['content-type']).toBe(MSGPACK_CONTENT_TYPE);
    const big = await app.inject({
      method: 'POST',
      url: PEER_ROUTES.call,
      headers: {
        authorization: `Bearer ${memberCredential(SECRET, 'b')}`,
        'x-supercache-node': 'b',
        'content-type': MSGPACK_CONTENT_TYPE,
      },
      payload: Buffer.alloc(4096, 1),
    });
    expect(big.statusCode).toBe(413);
  });

  it('keeps the JSON error format on the client routes next to the peer plugin', async () => {
    const r = await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: 1 } });
    expect(r.statusCode).toBe(400);
    expect(errorCode(r)).toBe('SC_ERR_BAD_REQUEST');
  });
});
