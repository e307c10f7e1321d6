/**
 * A cluster of real `supercache-node` processes talking HTTP on 127.0.0.1.
 * The tests run in order on one cluster: a, b, c form it; d joins under
 * load; c leaves under load (SIGTERM). Every child is killed in afterAll.
 */

import { connect } from 'node:net';
import { decode, encode, MSGPACK_CONTENT_TYPE, memberCredential, PEER_ROUTES } from '@supercache/cluster';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, loadLoop, ProcessCluster, verifyModel } from './process-cluster.js';

const LOAD = { workers: 6, keysPerWorker: 40, minOps: 300, maxOps: 20_000, maxMs: 20_000 };
const SEED_KEYS = 200;

/** POSTs over a raw socket, announcing `length` bytes but sending only `head`; resolves with the response. */
function rawPost(
  url: string,
  path: string,
  headers: Record<string, string>,
  length: number,
  head: Buffer,
): Promise<{ status: number; body: { code?: string } }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw.subarray(0, split).toString('latin1'))?.[1]);
      resolve({ status, body: decode(raw.subarray(split + 4)) as { code?: string } });
    });
    const lines = [
      `POST ${path} HTTP/1.1`,
      `host: ${hostname}:${port}`,
      `content-length: ${length}`,
      'connection: close',
    ];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    socket.write(head);
  });
}

function seedKey(i: number): string {
  return `seed${String(i).padStart(4, '0')}`;
}

describe('a cluster of node processes over HTTP', () => {
  const c = new ProcessCluster(16);

  beforeAll(async () => {
    await c.start('a');
    await c.start('b');
    await c.start('c');
  }, 120_000);

  afterAll(async () => {
    await c.close();
  }, 60_000);

  /** Sizes of the main table on every running node. */
  const sizes = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const id of c.nodes.keys()) out[id] = await c.size(id);
    return out;
  };
  const total = (s: Record<string, number>) => Object.values(s).reduce((x, y) => x + y, 0);

  it('forms one view of three members', async () => {
    for (const id of ['a', 'b', 'c']) {
      expect(await eventually(async () => (await c.members(id)).join() === 'a,b,c')).toBe(true);
    }
  });

  it('reads through one node what was written through another', async () => {
    const tuples = Array.from({ length: 120 }, (_v, i) => [`x${i}`, i, 'v'] as const);
    await c.client('a').putBatch(tuples.slice(0, 60));
    for (const t of tuples.slice(60)) await c.client('b').put(t);
    for (const via of ['a', 'b', 'c']) {
      for (const t of tuples) expect(await c.client(via).get(t[0])).toEqual([t]);
    }
    await c.client('c').delete('x7');
    for (const via of ['a', 'b', 'c']) expect(await c.client(via).get('x7')).toEqual([]);
    const matched = await c.client('b').match([{ $sc: '_' }, { $sc: '_' }, 'v']);
    expect(matched.length).toBe(119);
    // Key-value namespaces route the same way.
    await c.client('a').request('PUT', '/v1/kv/session/u1', { value: { name: 'Alice' } });
    expect(await c.client('c').request('GET', '/v1/kv/session/u1')).toEqual({
      key: 'u1',
      value: { name: 'Alice' },
    });
    // Each tuple lives on exactly one node.
    expect(total(await sizes())).toBe(119);
  });

  describe('bad input on the peer endpoints of a real process changes nothing', () => {
    // The credential of a member named 'x' (a holder of the secret).
    const auth = () => ({
      authorization: `Bearer ${memberCredential(c.secret, 'x')}`,
      'x-supercache-node': 'x',
      'content-type': MSGPACK_CONTENT_TYPE,
    });
    const call = async (
      headers: Record<string, string>,
      body: Uint8Array | Buffer,
      path = PEER_ROUTES.call,
    ) => {
      const r = await request(`${c.node('c').url}${path}`, { method: 'POST', headers, body });
      const bytes = Buffer.from(await r.body.arrayBuffer());
      return { status: r.statusCode, body: decode(bytes) as { code?: string; details?: { view?: unknown } } };
    };
    let before: Record<string, number>;

    beforeAll(async () => {
      before = await sizes();
    });

    it('answers 401 SC_ERR_UNAUTHORIZED without the secret or with a wrong one', async () => {
      const envelope = encode({ v: 1, from: 'intruder', method: 'sc.view', body: {} });
      const missing = await call({ 'content-type': MSGPACK_CONTENT_TYPE }, envelope);
      expect(missing).toMatchObject({ status: 401, body: { code: 'SC_ERR_UNAUTHORIZED' } });
      const wrong = await call(
        { authorization: 'Bearer nope', 'content-type': MSGPACK_CONTENT_TYPE },
        envelope,
      );
      expect(wrong).toMatchObject({ status: 401, body: { code: 'SC_ERR_UNAUTHORIZED' } });
      const r = await request(`${c.node('c').url}${PEER_ROUTES.ping}`);
      expect(r.statusCode).toBe(401);
      await r.body.dump();
    });

    it('answers 413 SC_ERR_PAYLOAD_TOO_LARGE for an oversized body, before reading it', async () => {
      // Announce 9 MiB (over the 8 MiB limit) and send only the first bytes:
      // the node answers from the headers and never waits for the rest.
      const r = await rawPost(
        c.node('c').url,
        PEER_ROUTES.call,
        auth(),
        9 * 1024 * 1024,
        Buffer.alloc(1024, 0x90),
      );
      expect(r).toMatchObject({ status: 413, body: { code: 'SC_ERR_PAYLOAD_TOO_LARGE' } });
    });

    it('answers 400 SC_ERR_BAD_REQUEST for a garbage body or envelope', async () => {
      const garbage = await call(auth(), Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      expect(garbage).toMatchObject({ status: 400, body: { code: 'SC_ERR_BAD_REQUEST' } });
      const noVersion = await call(auth(), encode({ from: 'x', method: 'sc.view', body: {} }));
      expect(noVersion).toMatchObject({ status: 400, body: { code: 'SC_ERR_BAD_REQUEST' } });
      const badBody = await call(
        auth(),
        encode({ v: 1, from: 'x', method: 'sc.exec', body: { t: 'supercache.main' } }),
      );
      expect(badBody).toMatchObject({ status: 400, body: { code: 'SC_ERR_BAD_REQUEST' } });
    });

    it('answers 404 SC_ERR_NO_TABLE for an unknown table and SC_ERR_UNKNOWN_METHOD for an unknown method', async () => {
      const r = await call(
        auth(),
        encode({
          v: 1,
          from: 'x',
          method: 'sc.exec',
          body: { t: 'nope', pd: 'k', c: 'lookup', a: ['k'], e: 1 },
        }),
      );
      expect(r).toMatchObject({ status: 404, body: { code: 'SC_ERR_NO_TABLE' } });
      const m = await call(auth(), encode({ v: 1, from: 'x', method: 'sc.nothing', body: {} }));
      expect(m).toMatchObject({ status: 404, body: { code: 'SC_ERR_UNKNOWN_METHOD' } });
    });

    it('redirects a stale fan-out with SC_ERR_STALE_EPOCH and a write to a non-owner with SC_ERR_NOT_OWNER, both with the view', async () => {
      const stale = await call(
        auth(),
        encode({
          v: 1,
          from: 'x',
          method: 'sc.node',
          body: { t: 'supercache.main', c: 'size', a: [], e: 0 },
        }),
      );
      expect(stale).toMatchObject({ status: 409, body: { code: 'SC_ERR_STALE_EPOCH' } });
      expect(stale.body.details?.view).toBeDefined();
      // Find a key c does not own and try to write it at c directly.
      const epoch = (await c.client('c').health()).epoch;
      let refused = 0;
      for (let i = 0; i < 16 && refused === 0; i++) {
        const k = `not-mine-${i}`;
        const r = await call(
          auth(),
          encode({
            v: 1,
            from: 'x',
            method: 'sc.exec',
            body: { t: 'supercache.main', pd: k, c: 'insert', a: [[[k, 1]]], e: epoch },
          }),
        );
        if (r.status === 409) {
          expect(r.body).toMatchObject({ code: 'SC_ERR_NOT_OWNER' });
          expect(r.body.details?.view).toBeDefined();
          expect(await c.client('a').get(k)).toEqual([]);
          refused++;
        } else {
          // c owns this key: the write went through; take it back out.
          await c.client('a').delete(k);
        }
      }
      expect(refused).toBe(1);
    });

    // Last in this block (tests run in order): a test, not an afterAll, so a
    // change shows as a failed test in the report.
    it('left every node holding exactly what it held before the bad input', async () => {
      expect(await sizes()).toEqual(before);
    });
  });

  it('joins 3 → 4 under load: no misses, no lost writes, deletes stay deleted, a fair share on the new node', async () => {
    const seed = Array.from({ length: SEED_KEYS }, (_v, i) => [seedKey(i), i] as const);
    await c.client('a').putBatch(seed);
    const before = total(await sizes());
    let joined = false;
    const join = c.start('d').then(() => {
      joined = true;
    });
    const r = await loadLoop(
      c,
      () => ['a', 'b', 'c'],
      () => joined,
      { seed: 11, ...LOAD },
    );
    await join;
    expect(r.finished).toBe(true);
    expect(r.during).toBeGreaterThan(0);
    expect(r.errors, c.logs()).toEqual([]);
    expect(r.misses).toEqual([]);
    expect(r.writes).toBeGreaterThan(0);
    expect(r.deletes).toBeGreaterThan(0);
    expect(await eventually(async () => (await c.members('a')).join() === 'a,b,c,d')).toBe(true);
    expect(await verifyModel(c, ['a', 'd'], r.model)).toEqual([]);
    for (const [k, v] of seed) expect(await c.client('d').get(k)).toEqual([[k, v]]);
    const after = await sizes();
    const live = [...r.model.values()].filter((v) => v !== null).length;
    expect(total(after)).toBe(before + live);
    // The seed case: the newcomer holds a fair share (at least 40 % of an even split).
    expect(after.d).toBeGreaterThanOrEqual((total(after) / 4) * 0.4);
  }, 120_000);

  it('leaves 4 → 3 on SIGTERM under load: exit 0, no misses, no lost writes, every seed key reachable', async () => {
    const before = total(await sizes());
    let left = false;
    let code: number | string | undefined;
    const leave = c.leave('c').then((x) => {
      code = x;
      left = true;
    });
    const r = await loadLoop(
      c,
      () => ['a', 'b', 'd'],
      () => left,
      { seed: 23, ...LOAD },
    );
    await leave;
    expect(code).toBe(0);
    expect(r.finished).toBe(true);
    expect(r.during).toBeGreaterThan(0);
    expect(r.errors, c.logs()).toEqual([]);
    expect(r.misses).toEqual([]);
    expect(await eventually(async () => (await c.members('a')).join() === 'a,b,d')).toBe(true);
    expect(await verifyModel(c, ['a', 'b', 'd'], r.model)).toEqual([]);
    for (let i = 0; i < SEED_KEYS; i++)
      expect(await c.client('b').get(seedKey(i))).toEqual([[seedKey(i), i]]);
    // Nothing but the load's own keys changed: the leave kept every other object.
    const live = [...r.model.values()].filter((v) => v !== null).length;
    expect(total(await sizes())).toBe(before + live);
  }, 120_000);
});
