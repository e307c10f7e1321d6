/**
 * Issue 8 against real `supercache-node` processes on 127.0.0.1: a holder
 * of the cluster secret cannot poison a node's clock (§3), terms with
 * `__proto__`-like keys route and read back exactly from every node (§4),
 * slow connections are capped and timed out while peers keep connecting
 * (§7), and malformed peer input gets a typed 4xx and changes nothing (§8).
 */

import { connect, type Socket } from 'node:net';
import { decode, encode, MSGPACK_CONTENT_TYPE, memberCredential, PEER_ROUTES } from '@supercache/cluster';
import type { Term, Tuple } from '@supercache/storage';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonClient } from '../src/json-client.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';
import { eventually, ProcessCluster, ROOT } from './process-cluster.js';

const MAIN = 'supercache.main';
const FAR_FUTURE = 'ffffffffffff-fffffe-evil';

interface PeerAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One raw peer call, as a holder of the secret (a member named 'attacker') can make. */
async function peerCall(url: string, secret: string, method: string, body: unknown): Promise<PeerAnswer> {
  const r = await request(`${url}${PEER_ROUTES.call}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${memberCredential(secret, 'attacker')}`,
      'x-supercache-node': 'attacker',
      'content-type': MSGPACK_CONTENT_TYPE,
    },
    body: Buffer.from(encode({ v: 1, from: 'attacker', method, body })),
  });
  const bytes = new Uint8Array(await r.body.arrayBuffer());
  return { status: r.statusCode, body: decode(bytes) as Record<string, unknown> };
}

/** An HLC timestamp (12 hex wall ms, 6 hex counter, node). */
function hlcAt(wall: number, node: string): string {
  return `${wall.toString(16).padStart(12, '0')}-000000-${node}`;
}

function far(): string {
  return hlcAt(Date.now() + 3_600_000, 'evil');
}

describe('security (real processes)', () => {
  const c = new ProcessCluster(8);
  let epoch = 0;

  beforeAll(async () => {
    await c.start('a');
    await c.start('b');
    expect(await eventually(async () => (await c.members('a')).length === 2)).toBe(true);
    epoch = (await c.client('a').health()).epoch;
  }, 120_000);

  afterAll(async () => {
    await c.close();
  });

  const exec = (node: string, body: Record<string, unknown>) =>
    peerCall(c.node(node).url, c.secret, 'sc.exec', { t: MAIN, e: epoch, ...body });

  /** A key owned by `node` (found by asking it to serve a read directly). */
  async function keyOwnedBy(node: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const r = await exec(node, { pd: `probe${i}`, c: 'lookup', a: [`probe${i}`] });
      if (r.status === 200) return `probe${i}`;
    }
    throw new Error(`no key owned by ${node}`);
  }

  describe('§3 clocks cannot be poisoned', () => {
    it('refuses a routed call carrying a far-future clock with 400 SC_ERR_CLOCK_SKEW, and writes keep working', async () => {
      for (const node of ['a', 'b']) {
        const key = await keyOwnedBy(node);
        // The read of the issue: a version at the end of the HLC range.
        for (const v of [FAR_FUTURE, far()]) {
          const r = await exec(node, { pd: key, c: 'lookup', a: [key], v });
          expect(r.status).toBe(400);
          expect(r.body.code).toBe('SC_ERR_CLOCK_SKEW');
        }
        // The same call with a sane clock is served.
        const ok = await exec(node, {
          pd: key,
          c: 'lookup',
          a: [key],
          v: hlcAt(Date.now(), 'x'),
        });
        expect(ok.status).toBe(200);
      }
      // Every node still stamps writes: put and read back through both.
      for (let i = 0; i < 40; i++) await c.client(i % 2 === 0 ? 'a' : 'b').put([`after-${i}`, i]);
      for (let i = 0; i < 40; i++)
        expect(await c.client(i % 2 === 0 ? 'b' : 'a').get(`after-${i}`)).toEqual([[`after-${i}`, i]]);
    });

    it('refuses handoff chunks and replication records with far-future versions; nothing is staged or applied', async () => {
      const before = (await c.client('b').stats()).handoff?.entriesReceived ?? 0;
      const chunk = await peerCall(c.node('b').url, c.secret, 'sc.handoffChunk', {
        t: MAIN,
        h: 'forged',
        e: epoch + 1,
        items: [
          [0, ['ok-key', 1], 0, null],
          [0, ['poison', 1], 0, FAR_FUTURE],
        ],
      });
      expect(chunk.status).toBe(400);
      expect(chunk.body.code).toBe('SC_ERR_CLOCK_SKEW');
      const delta = await peerCall(c.node('b').url, c.secret, 'sc.handoffDelta', {
        t: MAIN,
        h: 'forged',
        e: epoch + 1,
        items: [[0, 'poison', [[['poison', 1], 0, far()]]]],
      });
      expect(delta.body.code).toBe('SC_ERR_CLOCK_SKEW');
      const rep = await peerCall(c.node('b').url, c.secret, 'sc.replicate', {
        t: MAIN,
        e: epoch,
        b: [[0, 1, [[1, [['poison', [[['poison', 1], 0, FAR_FUTURE]]]]]]]],
      });
      expect(rep.status).toBe(400);
      expect(rep.body.code).toBe('SC_ERR_CLOCK_SKEW');
      const snap = await peerCall(c.node('b').url, c.secret, 'sc.replicaSnapshot', {
        t: MAIN,
        e: epoch,
        p: 0,
        s: 1,
        first: true,
        last: true,
        items: [[['poison', 1], 0, FAR_FUTURE]],
      });
      expect(snap.body.code).toBe('SC_ERR_CLOCK_SKEW');
      expect((await c.client('b').stats()).handoff?.entriesReceived ?? 0).toBe(before);
      expect(await c.client('a').get('poison')).toEqual([]);
      expect(await c.client('b').get('ok-key')).toEqual([]);
    });
  });

  describe('§4 terms survive the wire', () => {
    it('stores and reads back keys named __proto__, constructor and prototype from every node', async () => {
      const keys: Term[] = [];
      for (let i = 0; i < 24; i++) {
        keys.push(JSON.parse(`{"__proto__":${i}}`) as Term);
        keys.push(JSON.parse(`{"constructor":{"prototype":${i}},"__proto__":"x${i}"}`) as Term);
      }
      for (const [i, k] of keys.entries()) await c.client(i % 2 === 0 ? 'a' : 'b').put([k, i] as Tuple);
      for (const [i, k] of keys.entries()) {
        for (const node of ['a', 'b']) {
          const got = await c.client(node).get(k);
          expect(got, `${node} ${JSON.stringify(k)}`).toHaveLength(1);
          expect(JSON.stringify(got[0])).toBe(JSON.stringify([k, i]));
        }
      }
      // A match from either node sees all of them, unchanged.
      for (const node of ['a', 'b']) {
        const all = await c.client(node).match([{ $sc: '_' }, { $sc: '_' }]);
        const texts = new Set(all.map((t) => JSON.stringify(t)));
        for (const [i, k] of keys.entries()) expect(texts.has(JSON.stringify([k, i]))).toBe(true);
        expect([...texts].some((t) => t.includes('"__proto_"'))).toBe(false);
      }
    });
  });

  describe('§8 validation gaps', () => {
    it('answers malformed handoff items with 400 SC_ERR_BAD_REQUEST and stages nothing', async () => {
      const before = (await c.client('a').stats()).handoff?.entriesReceived ?? 0;
      const bad: unknown[][] = [
        [0, null, 0, null],
        [0, 42, 0, null],
        [0, 'a string object', 0, null],
        [0, ['k'], 0, 'garbage-version'],
        [0, ['k'], 'tomorrow', null],
        [0, ['k'], -5, null],
        [999, ['k'], 0, null],
      ];
      for (const item of bad) {
        const r = await peerCall(c.node('a').url, c.secret, 'sc.handoffChunk', {
          t: MAIN,
          h: 'forged',
          e: epoch + 1,
          items: [[0, ['fine'], 0, null], item],
        });
        expect(r.status, JSON.stringify(item)).toBe(400);
        expect(r.body.code).toBe('SC_ERR_BAD_REQUEST');
      }
      expect((await c.client('a').stats()).handoff?.entriesReceived ?? 0).toBe(before);
    });

    it('refuses a cursorOpen with an unknown kind or a bad spec at the open', async () => {
      const kind = await peerCall(c.node('a').url, c.secret, 'sc.cursorOpen', {
        t: MAIN,
        e: epoch,
        k: 'nope',
        a: null,
      });
      expect(kind.status).toBe(400);
      expect(kind.body.code).toBe('SC_ERR_BAD_ARG');
      const spec = await peerCall(c.node('a').url, c.secret, 'sc.cursorOpen', {
        t: MAIN,
        e: epoch,
        k: 'select',
        a: 'not a match spec',
      });
      expect(spec.status).toBe(400);
      expect(spec.body.code).toBe('SC_ERR_BAD_MATCH_SPEC');
    });

    it('refuses a non-number ttl on the peer path and writes nothing', async () => {
      const key = await keyOwnedBy('b');
      const r = await exec('b', { pd: key, c: 'insert', a: [[[key, 'v']], 'soon'] });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('SC_ERR_BAD_ARG');
      expect(await c.client('a').get(key)).toEqual([]);
    });

    it('answers an over-long KV key with the documented error shape', async () => {
      const r = await c
        .client('a')
        .request('GET', `/v1/kv/ns/${'k'.repeat(5000)}`)
        .catch((e: unknown) => e);
      expect(r).toMatchObject({ code: 'SC_ERR_BAD_REQUEST', details: { status: 400 } });
    });

    it('fails a node started with a wrong secret with SC_ERR_UNAUTHORIZED on top', async () => {
      const node = await spawnNode(sourceCliCommand(ROOT), {
        id: 'wrong',
        secret: 'not-the-secret',
        peers: { a: c.node('a').url },
        partitions: 8,
      });
      const code = await node.exited;
      expect(code).toBe(1);
      const line = node.stderr.find((l) => l.includes('cannot join the cluster'));
      expect(line).toMatch(/cannot join the cluster: SC_ERR_UNAUTHORIZED/);
      expect(await c.members('a')).toEqual(['a', 'b']);
    }, 60_000);
  });
});

describe('§7 bounded servers (real process)', () => {
  let node: NodeProcess | undefined;
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await node?.kill();
  });

  it('caps slow connections from one address, keeps serving others, and times the slow ones out', async () => {
    node = await spawnNode(sourceCliCommand(ROOT), {
      id: 'bounded',
      secret: 'bounded-secret',
      partitions: 4,
      extraArgs: [
        '--headers-timeout-ms',
        '1500',
        '--request-timeout-ms',
        '3000',
        '--max-connections-per-address',
        '40',
        '--max-connections',
        '200',
      ],
    });
    await node.ready;
    const { port } = new URL(node.url);
    const SLOW = 120;
    let closed = 0;
    const header = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < SLOW; i++) {
      // From 127.0.0.2: another address than the peer below.
      const s = connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' });
      s.on('error', () => {});
      s.once('close', () => {
        closed++;
      });
      let n = 0;
      const t = setInterval(() => {
        if (!s.destroyed) s.write(n < header.length ? (header[n] as string) : 'a');
        n++;
      }, 200);
      s.once('close', () => clearInterval(t));
      timers.push(t);
      sockets.push(s);
    }
    // The cap closes the ones over 40 at once.
    expect(await eventually(() => closed >= SLOW - 40, 10_000)).toBe(true);
    expect(sockets.filter((s) => !s.destroyed).length).toBeLessThanOrEqual(40);
    // A peer (the secret's holder on 127.0.0.1) still connects and is served meanwhile.
    const client = new JsonClient(node.url, { connections: 2 });
    try {
      const ping = await request(`${node.url}${PEER_ROUTES.ping}`, {
        headers: {
          authorization: `Bearer ${memberCredential('bounded-secret', 'peer')}`,
          'x-supercache-node': 'peer',
        },
      });
      expect(ping.statusCode).toBe(200);
      await ping.body.arrayBuffer();
      await client.put(['while-slow', 1]);
      expect(await client.get('while-slow')).toEqual([['while-slow', 1]]);
    } finally {
      await client.close();
    }
    // And every slow connection is timed out by the server.
    expect(await eventually(() => closed === SLOW, 20_000)).toBe(true);
    for (const t of timers) clearInterval(t);
  }, 90_000);
});
