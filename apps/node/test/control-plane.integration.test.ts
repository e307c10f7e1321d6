/**
 * The guarded control plane against real `supercache-node` processes on
 * 127.0.0.1: every forged control message of issue 8 that
 * `packages/cluster/test/control-plane-guard.test.ts` sends over the memory
 * transport is sent here as raw HTTP to three real nodes, with the exact
 * envelope and body the code expects, so each is refused by the guard
 * itself (not for its shape). After each attack every node still holds the
 * same epoch, members and leader, every key reads back its value through
 * every node, nothing was staged, and memory stayed within a bound.
 */

import {
  clientToken,
  decode,
  encode,
  MSGPACK_CONTENT_TYPE,
  memberCredential,
  NODE_HEADER,
  PEER_ROUTES,
} from '@supercache/cluster';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ProcessCluster } from './process-cluster.js';

const MAIN = 'supercache.main';
const KEYS = 500;
const PARTITIONS = 8;
/** Short timeouts keep the dead-node removal quick; loose enough for a loaded 2-core machine. */
const FAILURE_TIMEOUT_MS = 3000;
const HEARTBEAT_MS = 200;
const CONFIG = {
  numPartition: PARTITIONS,
  tableType: 'set',
  replicationFactor: 2,
  replicationMode: 'async',
  keyPos: 0,
  partitionPos: 0,
};

interface PeerAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Who a raw call is sent as: a member key for `key` with the envelope naming `from`, or a client token. */
type Sender = { readonly key: string; readonly from?: string } | { readonly token: string };

/** A view as `sc.view` answers it. */
interface WireView {
  readonly cluster: string;
  readonly epoch: number;
  readonly members: string[];
  readonly addresses: Record<string, string>;
  readonly shards: Record<string, Record<string, number>>;
  readonly tables: Record<string, unknown>;
  readonly handoffs: string[];
  readonly [field: string]: unknown;
}

/** What a node's /health says of its view. */
interface ViewState {
  readonly epoch: number;
  readonly leader: string | undefined;
  readonly members: string[];
}

function key(i: number): string {
  return `cp${String(i).padStart(4, '0')}`;
}

/** `view` at the next epoch without `gone`, as a removal would build it. */
function dropping(view: WireView, gone: string, epoch = view.epoch + 1): WireView {
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) {
    shards[t] = Object.fromEntries(Object.entries(per).filter(([n]) => n !== gone));
  }
  const addresses = Object.fromEntries(Object.entries(view.addresses).filter(([n]) => n !== gone));
  return { ...view, epoch, members: view.members.filter((m) => m !== gone), addresses, shards };
}

describe('the guarded control plane on real processes', () => {
  const c = new ProcessCluster(PARTITIONS, {
    // Two copies: the crash of a 4th node (attack 6) loses no key.
    extraArgs: [
      '--replication-factor',
      '2',
      '--failure-timeout-ms',
      String(FAILURE_TIMEOUT_MS),
      '--heartbeat-ms',
      String(HEARTBEAT_MS),
    ],
  });
  const ids = ['a', 'b', 'c'];
  let baseline: Record<string, ViewState> = {};

  /** One raw peer call (or a batch, when `calls` is given). */
  async function peer(
    to: string,
    sender: Sender,
    method: string,
    body: unknown,
    calls?: ReadonlyArray<readonly [number, string, unknown]>,
  ): Promise<PeerAnswer> {
    const headers: Record<string, string> = { 'content-type': MSGPACK_CONTENT_TYPE };
    let from: string;
    if ('token' in sender) {
      headers.authorization = `Bearer ${sender.token}`;
      from = 'app';
    } else {
      headers.authorization = `Bearer ${memberCredential(c.secret, sender.key)}`;
      headers[NODE_HEADER] = sender.key;
      from = sender.from ?? sender.key;
    }
    const envelope = calls === undefined ? { v: 1, from, method, body } : { v: 1, from, calls };
    const r = await request(
      `${c.node(to).url}${calls === undefined ? PEER_ROUTES.call : PEER_ROUTES.batch}`,
      {
        method: 'POST',
        headers,
        body: Buffer.from(encode(envelope)),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      },
    );
    const bytes = new Uint8Array(await r.body.arrayBuffer());
    return { status: r.statusCode, body: decode(bytes) as Record<string, unknown> };
  }

  /** Expects a refusal with `status` and `code`. */
  function refused(r: PeerAnswer, status: number, code: string, what: string): void {
    expect({ what, status: r.status, code: r.body.code }).toEqual({ what, status, code });
  }

  /** The view node `id` holds, as its peers read it. */
  async function viewOf(id: string): Promise<WireView> {
    const r = await peer(id, { key: 'observer' }, 'sc.view', {});
    expect(r.status).toBe(200);
    return r.body as unknown as WireView;
  }

  async function health(id: string): Promise<Record<string, unknown>> {
    return (await c.client(id).request('GET', '/health')) as Record<string, unknown>;
  }

  async function viewState(id: string): Promise<ViewState> {
    const h = await health(id);
    return {
      epoch: h.epoch as number,
      leader: h.leader as string | undefined,
      members: (h.members as Array<{ id: string }>).map((m) => m.id),
    };
  }

  async function viewStates(): Promise<Record<string, ViewState>> {
    const out: Record<string, ViewState> = {};
    for (const id of ids) out[id] = await viewState(id);
    return out;
  }

  /** Handoff entries staged so far on every node (from /v1/stats). */
  async function received(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const id of ids) out[id] = (await c.client(id).stats()).handoff?.entriesReceived ?? 0;
    return out;
  }

  /** A gauge of a node's /metrics (process defaults are prefixed `supercache_node_`). */
  async function metric(id: string, name: string): Promise<number> {
    const r = await request(`${c.node(id).url}/metrics`);
    const text = await r.body.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no metric ${name} on ${id}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  /** Every key reads back its value through every node (bounded concurrency). */
  async function allKeysIntact(): Promise<void> {
    const wrong: string[] = [];
    for (const via of ids) {
      for (let start = 0; start < KEYS; start += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, KEYS - start) }, async (_v, j) => {
            const i = start + j;
            const got = await c.client(via).get(key(i));
            if (JSON.stringify(got) !== JSON.stringify([[key(i), i]])) {
              wrong.push(`${via} ${key(i)}: ${JSON.stringify(got)}`);
            }
          }),
        );
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  }

  /** Nothing changed: every node holds the baseline view, and all the data. */
  async function unchanged(): Promise<void> {
    expect(await viewStates()).toEqual(baseline);
    for (const id of ids) {
      expect((await viewOf(id)).epoch).toBe(baseline[id]?.epoch);
    }
    await allKeysIntact();
  }

  /** A key owned by `node` (it serves a routed read of it directly). */
  async function keyOwnedBy(node: string): Promise<number> {
    const e = baseline[node]?.epoch ?? 0;
    for (let i = 0; i < KEYS; i++) {
      const r = await peer(node, { key: 'observer' }, 'sc.exec', {
        t: MAIN,
        e,
        pd: key(i),
        c: 'lookup',
        a: [key(i)],
      });
      if (r.status === 200) return i;
    }
    throw new Error(`no key owned by ${node}`);
  }

  beforeAll(async () => {
    for (const id of ids) await c.start(id);
    for (const id of ids) {
      expect(await eventually(async () => (await c.members(id)).join() === 'a,b,c', 30_000)).toBe(true);
    }
    const tuples = Array.from({ length: KEYS }, (_v, i) => [key(i), i] as const);
    for (let i = 0; i < KEYS; i += 100)
      await c.client(ids[(i / 100) % 3] as string).putBatch(tuples.slice(i, i + 100));
    // The view settles (same epoch everywhere) before it is recorded.
    expect(
      await eventually(async () => {
        const s = await viewStates();
        return new Set(Object.values(s).map((v) => `${v.epoch}|${v.leader}|${v.members.join()}`)).size === 1;
      }, 30_000),
    ).toBe(true);
    baseline = await viewStates();
    expect(baseline.a?.leader).toBe('a');
    await allKeysIntact();
  }, 180_000);

  afterAll(async () => {
    await c.close();
  }, 60_000);

  it('1. refuses every member method under a client token with 403 SC_ERR_FORBIDDEN; a read-only token cannot write; a client reads', async () => {
    const app = { token: clientToken(c.secret, 'app') };
    const ro = { token: clientToken(c.secret, 'reader', { readOnly: true }) };
    const view = await viewOf('b');
    const e = view.epoch;
    const next = dropping(view, 'c');
    const owned = await keyOwnedBy('b');
    const item = [0, [key(owned), 'evil'], 0, null];
    // Every member method registered in peer-handlers.ts, each with the body its handler reads.
    const memberCalls: Array<[string, Record<string, unknown>]> = [
      ['sc.ping', { id: 'app', s: 'running', e, a: c.node('b').url, c: view.cluster, n: 3, l: 'a' }],
      ['sc.viewPropose', { view: next }],
      ['sc.viewCommit', { view: next }],
      ['sc.join', { id: 'a0', address: c.node('b').url, config: CONFIG, tables: {} }],
      ['sc.leave', { id: 'c', hops: 0 }],
      ['sc.tableJoin', { id: 'b', table: MAIN, spec: {} }],
      ['sc.replicate', { t: MAIN, e, b: [[0, 1, [[1, [[key(owned), [[[key(owned), 'evil'], 0, null]]]]]]]] }],
      ['sc.replicaDigest', { t: MAIN, e, p: 0, s: 0, d: [0, 0, 0] }],
      ['sc.replicaSnapshot', { t: MAIN, e, p: 0, s: 1, first: true, last: true, items: [] }],
      [
        'sc.handoffPrepare',
        { h: 'forged', prev: view, next: { ...next, handoffs: [...view.handoffs, 'forged'] } },
      ],
      [
        'sc.handoffExpect',
        { h: 'forged', prev: view, next: { ...next, handoffs: [...view.handoffs, 'forged'] } },
      ],
      ['sc.handoffSwitch', { h: 'forged' }],
      ['sc.handoffChunk', { t: MAIN, h: 'forged', e: e + 1, items: [item] }],
      ['sc.handoffDelta', { t: MAIN, h: 'forged', e: e + 1, items: [] }],
      ['sc.handoffDone', { h: 'forged' }],
      ['sc.handoffAbort', { h: 'forged' }],
    ];
    const before = await received();
    for (const to of ids) {
      for (const sender of [app, ro]) {
        for (const [method, body] of memberCalls) {
          refused(await peer(to, sender, method, body), 403, 'SC_ERR_FORBIDDEN', `${method} to ${to}`);
        }
        // Inside a batch, next to a data-plane write: nothing of the batch runs.
        const batch = await peer(to, sender, '', undefined, [
          [0, 'sc.exec', { t: MAIN, e, pd: key(owned), c: 'insert', a: [[[key(owned), 'evil']]] }],
          [1, 'sc.viewCommit', { view: next }],
        ]);
        refused(batch, 403, 'SC_ERR_FORBIDDEN', `batch to ${to}`);
      }
    }
    // A read-only token may read but not write.
    const lookup = { t: MAIN, e, pd: key(owned), c: 'lookup', a: [key(owned)] };
    const write = { t: MAIN, e, pd: key(owned), c: 'insert', a: [[[key(owned), 'evil']]] };
    refused(await peer('b', ro, 'sc.exec', write), 403, 'SC_ERR_FORBIDDEN', 'read-only insert');
    refused(
      await peer('b', ro, 'sc.exec', { ...write, c: 'delete', a: [key(owned)] }),
      403,
      'SC_ERR_FORBIDDEN',
      'read-only delete',
    );
    for (const sender of [app, ro]) {
      const read = await peer('b', sender, 'sc.exec', lookup);
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).toContain(JSON.stringify([key(owned), owned]));
    }
    expect(await received()).toEqual(before);
    await unchanged();
  }, 120_000);

  it('2. refuses a next-epoch view of 2 members committed by a non-leader; no node drops data', async () => {
    const view = await viewOf('a');
    for (const [sender, gone, targets] of [
      ['b', 'c', ['a', 'c']],
      ['c', 'b', ['a', 'b']],
      ['b', 'a', ['a', 'c']],
      ['c', 'a', ['a', 'b']],
    ] as const) {
      for (const to of targets) {
        const r = await peer(to, { key: sender }, 'sc.viewCommit', { view: dropping(view, gone) });
        refused(r, 403, 'SC_ERR_FORBIDDEN', `${sender} commits a view without ${gone} to ${to}`);
        expect((r.body.details as Record<string, unknown>)?.reason).toBe('leader');
      }
    }
    // Nor can a non-leader get the removal of a live member promised.
    for (const to of ['a', 'c']) {
      const r = await peer(to, { key: 'b' }, 'sc.viewPropose', { view: dropping(view, 'a') });
      refused(r, 403, 'SC_ERR_FORBIDDEN', `b proposes a view without a to ${to}`);
    }
    await unchanged();
  }, 120_000);

  it('3. refuses an epoch jump to 2^53-1 even under the leader key; a 4th node still joins by a normal step and leaves', async () => {
    const view = await viewOf('a');
    const huge = { ...view, epoch: Number.MAX_SAFE_INTEGER };
    for (const [sender, to] of [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'a'],
      ['c', 'a'],
    ] as const) {
      const r = await peer(to, { key: sender }, 'sc.viewCommit', { view: huge });
      refused(r, 403, 'SC_ERR_FORBIDDEN', `${sender} commits epoch 2^53-1 to ${to}`);
      expect((r.body.details as Record<string, unknown>)?.reason).toBe('epoch');
    }
    // Just past the step bound, from the leader, is refused the same way.
    const far = await peer('b', { key: 'a' }, 'sc.viewCommit', {
      view: { ...view, epoch: view.epoch + 1025 },
    });
    refused(far, 403, 'SC_ERR_FORBIDDEN', 'a commits a jump of 1025');
    await unchanged();
    const epoch = baseline.a?.epoch ?? 0;
    await c.start('d');
    try {
      const joined = await eventually(async () => {
        for (const id of [...ids, 'd']) if ((await c.members(id)).join() !== 'a,b,c,d') return false;
        return true;
      }, 60_000);
      expect(joined).toBe(true);
      const after = (await viewState('a')).epoch;
      expect(after).toBeGreaterThan(epoch);
      expect(after).toBeLessThanOrEqual(epoch + 4);
      for (let i = 0; i < KEYS; i += 7) expect(await c.client('d').get(key(i))).toEqual([[key(i), i]]);
    } finally {
      expect(await c.leave('d')).toBe(0);
    }
    expect(
      await eventually(async () => {
        for (const id of ids) if ((await c.members(id)).join() !== 'a,b,c') return false;
        return true;
      }, 60_000),
    ).toBe(true);
    // The join and the leave moved the epoch by normal steps; that is the new baseline.
    expect(
      await eventually(async () => new Set(Object.values(await viewStates()).map((v) => v.epoch)).size === 1),
    ).toBe(true);
    const now = await viewStates();
    expect(now.a?.epoch).toBeLessThanOrEqual(epoch + 8);
    for (const id of ids) expect(now[id]).toMatchObject({ leader: 'a', members: ['a', 'b', 'c'] });
    baseline = now;
    await unchanged();
  }, 180_000);

  it('4. refuses handoff data under a made-up handoff id, and a view listing it; no value is overwritten', async () => {
    const view = await viewOf('b');
    const before = await received();
    const owned = await keyOwnedBy('b');
    const e = view.epoch + 1;
    const items = [[0, [key(owned), 'evil'], 0, null]];
    for (const to of ['a', 'b']) {
      refused(
        await peer(to, { key: 'c' }, 'sc.handoffChunk', { h: 'made-up', t: MAIN, e, items }),
        403,
        'SC_ERR_FORBIDDEN',
        `chunk to ${to}`,
      );
      refused(
        await peer(to, { key: 'c' }, 'sc.handoffDelta', {
          h: 'made-up',
          t: MAIN,
          e,
          items: [[0, key(owned), [[[key(owned), 'evil'], 0, null]]]],
        }),
        403,
        'SC_ERR_FORBIDDEN',
        `delta to ${to}`,
      );
      refused(
        await peer(to, { key: 'c' }, 'sc.handoffDone', { h: 'made-up', moved: {} }),
        403,
        'SC_ERR_FORBIDDEN',
        `done to ${to}`,
      );
    }
    const listing = { ...view, epoch: e, handoffs: [...view.handoffs, 'made-up'] };
    for (const to of ['a', 'b']) {
      const r = await peer(to, { key: 'c' }, 'sc.viewCommit', { view: listing });
      refused(r, 403, 'SC_ERR_FORBIDDEN', `view listing made-up to ${to}`);
    }
    expect(await received()).toEqual(before);
    for (const id of ids) expect(await c.client(id).get(key(owned))).toEqual([[key(owned), owned]]);
    await unchanged();
  }, 120_000);

  it("5. refuses sc.join of a new id at another node's address; no leader change, no SC_ERR_NOT_OWNER after", async () => {
    for (const [joiner, at, to] of [
      ['a0', 'b', 'a'], // a0 would lead (smallest id) while b answers at its address
      ['a0', 'c', 'b'], // forwarded by a member, the leader checks just the same
      ['zz', 'a', 'a'], // the leader's own address
      ['b', 'c', 'a'], // a running member "restarting" at another's address
      ['b', 'b', 'a'], // and at its own
    ] as const) {
      for (const sender of [{ key: joiner }, { key: 'observer' }]) {
        const r = await peer(to, sender, 'sc.join', {
          id: joiner,
          address: c.node(at).url,
          config: CONFIG,
          tables: {},
        });
        refused(r, 403, 'SC_ERR_FORBIDDEN', `join of ${joiner} at ${at}'s address via ${to}`);
      }
    }
    // Every key is served where it is routed: the routed read of each key answers on exactly one node.
    const e = baseline.a?.epoch ?? 0;
    for (let i = 0; i < KEYS; i += 5) {
      const owners: string[] = [];
      for (const id of ids) {
        const r = await peer(id, { key: 'observer' }, 'sc.exec', {
          t: MAIN,
          e,
          pd: key(i),
          c: 'lookup',
          a: [key(i)],
        });
        if (r.status === 200) owners.push(id);
        else expect(r.body.code).toBe('SC_ERR_NOT_OWNER');
      }
      expect(owners).toHaveLength(1);
    }
    await unchanged();
  }, 120_000);

  it('6. refuses heartbeats naming another node than their sender; a crashed node is still removed while forged pings name it', async () => {
    const e = baseline.a?.epoch ?? 0;
    const ping = (id: string) => ({ id, s: 'running', e, a: c.node('c').url, c: '', n: 3, l: 'a' });
    const cluster = (await viewOf('a')).cluster;
    // The key of c, an envelope naming b: the credential and the envelope disagree.
    const mismatch = await peer('a', { key: 'c', from: 'b' }, 'sc.ping', { ...ping('b'), c: cluster });
    refused(mismatch, 403, 'SC_ERR_FORBIDDEN', 'key of c, envelope of b');
    expect((mismatch.body.details as Record<string, unknown>)?.node).toBe('c');
    // The key and envelope of c, a ping naming b: the heartbeat guard.
    const named = await peer('a', { key: 'c' }, 'sc.ping', { ...ping('b'), c: cluster });
    refused(named, 403, 'SC_ERR_FORBIDDEN', 'c names b');
    expect((named.body.details as Record<string, unknown>)?.named).toBe('b');
    // A 4th node joins, then crashes (SIGKILL); forged pings keep naming it.
    await c.start('d');
    expect(
      await eventually(async () => {
        for (const id of ids) if ((await c.members(id)).join() !== 'a,b,c,d') return false;
        return true;
      }, 60_000),
    ).toBe(true);
    await c.crash('d');
    const answers: string[] = [];
    let stop = false;
    const keepAlive = (async () => {
      const deadline = Date.now() + 60_000;
      for (let n = 0; n < 2000 && !stop && Date.now() < deadline; n++) {
        const to = ids[n % 3] as string;
        const forged =
          n % 3 === 0
            ? peer(to, { key: 'c', from: 'd' }, 'sc.ping', { ...ping('d'), c: cluster })
            : n % 3 === 1
              ? peer(to, { key: 'b' }, 'sc.ping', { ...ping('d'), c: cluster })
              : peer(to, { key: 'observer' }, 'sc.ping', { ...ping('d'), c: cluster });
        const r = await forged.catch((err: unknown) => ({ status: 0, body: { code: String(err) } }));
        answers.push(`${r.status} ${String(r.body.code)}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    try {
      const removed = await eventually(async () => {
        for (const id of ids) if ((await c.members(id)).join() !== 'a,b,c') return false;
        return true;
      }, 60_000);
      expect(removed, c.logs()).toBe(true);
    } finally {
      stop = true;
      await keepAlive;
    }
    expect(answers.length).toBeGreaterThan(0);
    expect([...new Set(answers)]).toEqual(['403 SC_ERR_FORBIDDEN']);
    expect(
      await eventually(async () => new Set(Object.values(await viewStates()).map((v) => v.epoch)).size === 1),
    ).toBe(true);
    const now = await viewStates();
    for (const id of ids) expect(now[id]).toMatchObject({ leader: 'a', members: ['a', 'b', 'c'] });
    baseline = now;
    await unchanged();
  }, 180_000);

  it('7. refuses a handoff prepare and switch from a non-leader; the node keeps serving, a write right after succeeds', async () => {
    const view = await viewOf('b');
    const next = { ...dropping(view, 'c'), handoffs: [...view.handoffs, 'forged-h'] };
    for (const [sender, to] of [
      ['c', 'b'],
      ['c', 'a'],
      ['b', 'c'],
    ] as const) {
      refused(
        await peer(to, { key: sender }, 'sc.handoffPrepare', { h: 'forged-h', prev: view, next }),
        403,
        'SC_ERR_FORBIDDEN',
        `prepare by ${sender} to ${to}`,
      );
      refused(
        await peer(to, { key: sender }, 'sc.handoffSwitch', { h: 'forged-h' }),
        403,
        'SC_ERR_FORBIDDEN',
        `switch by ${sender} to ${to}`,
      );
    }
    // Nothing is held: writes go through every node at once.
    for (let i = 0; i < 30; i++) {
      const via = ids[i % 3] as string;
      await c.client(via).put([`after-switch-${i}`, i]);
      expect(await c.client(ids[(i + 1) % 3] as string).get(`after-switch-${i}`)).toEqual([
        [`after-switch-${i}`, i],
      ]);
    }
    for (let i = 0; i < 30; i++) await c.client('a').delete(`after-switch-${i}`);
    await unchanged();
  }, 120_000);

  it('8. refuses many chunks at huge epochs under made-up handoffs; nothing is staged and memory stays bounded', async () => {
    const ROUNDS = 96;
    const ITEMS = 1024;
    const pad = 'x'.repeat(512);
    const before = await received();
    const rssBefore = await metric('b', 'supercache_node_process_resident_memory_bytes');
    const cacheBefore = await metric('b', 'supercache_cache_memory_bytes');
    let sent = 0;
    const codes = new Set<string>();
    const deadline = Date.now() + 90_000;
    for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
      const items = Array.from({ length: ITEMS }, (_v, i) => [0, [`flood-${round}-${i}`, pad], 0, null]);
      const body = {
        h: `flood-${round % 4}`,
        t: MAIN,
        e: round % 2 === 0 ? Number.MAX_SAFE_INTEGER : (baseline.b?.epoch ?? 0) + 1_000_000 + round,
        items,
      };
      sent += encode(body).byteLength;
      const r = await peer(
        'b',
        { key: round % 2 === 0 ? 'c' : 'a' },
        round % 3 === 0 ? 'sc.handoffDelta' : 'sc.handoffChunk',
        round % 3 === 0
          ? { ...body, items: items.map(([s, t]) => [s, (t as string[])[0], [[t, 0, null]]]) }
          : body,
      );
      codes.add(`${r.status} ${String(r.body.code)}`);
    }
    expect([...codes]).toEqual(['403 SC_ERR_FORBIDDEN']);
    expect(sent).toBeGreaterThan(48 * 1024 * 1024);
    expect(await received()).toEqual(before);
    expect(await metric('b', 'supercache_cache_memory_bytes')).toBe(cacheBefore);
    const rssAfter = await metric('b', 'supercache_node_process_resident_memory_bytes');
    // Staging what was sent would hold all of it; the decoded bodies are garbage.
    expect(rssAfter - rssBefore).toBeLessThan(sent / 2);
    for (const id of ids) expect(await c.client(id).get('flood-0-0')).toEqual([]);
    await unchanged();
  }, 180_000);
});

/**
 * Forgeries this file found getting through, now refused: a call to a node
 * under its own key (the peer routes refuse it), and calls under a dead
 * member's key keeping it alive (only answers to a node's own pings count).
 * Each runs on a cluster of its own, as a successful forgery would break it.
 */
describe("forgeries under a node's own key or a dead member's key", () => {
  const c = new ProcessCluster(PARTITIONS, {
    extraArgs: ['--failure-timeout-ms', String(FAILURE_TIMEOUT_MS), '--heartbeat-ms', String(HEARTBEAT_MS)],
  });

  async function peerAs(to: string, id: string, method: string, body: unknown): Promise<PeerAnswer> {
    const r = await request(`${c.node(to).url}${PEER_ROUTES.call}`, {
      method: 'POST',
      headers: {
        'content-type': MSGPACK_CONTENT_TYPE,
        authorization: `Bearer ${memberCredential(c.secret, id)}`,
        [NODE_HEADER]: id,
      },
      body: Buffer.from(encode({ v: 1, from: id, method, body })),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    return {
      status: r.statusCode,
      body: decode(new Uint8Array(await r.body.arrayBuffer())) as Record<string, unknown>,
    };
  }

  const membersEverywhere = async (want: string): Promise<boolean> => {
    for (const id of c.nodes.keys()) if ((await c.members(id)).join() !== want) return false;
    return true;
  };

  /** The crashed member of the first case is gone (once its pings stop) and every node holds one epoch. */
  const settled = async (): Promise<void> => {
    expect(await eventually(() => membersEverywhere('a,b,c'), 60_000)).toBe(true);
    expect(
      await eventually(async () => {
        const epochs = new Set<number>();
        for (const id of c.nodes.keys()) epochs.add((await c.client(id).health()).epoch);
        return epochs.size === 1;
      }, 30_000),
    ).toBe(true);
  };

  beforeAll(async () => {
    for (const id of ['a', 'b', 'c']) await c.start(id);
    expect(await eventually(() => membersEverywhere('a,b,c'), 30_000)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await c.close();
  }, 60_000);

  // The key of a crashed member can be made by any holder of the secret.
  // Calls under it used to count as hearing from that member, so pings under
  // it kept a dead member in the view; now only answers to a node's own
  // pings count.
  it('removes a crashed member while pings under its own key keep coming', async () => {
    await c.start('d');
    expect(await eventually(() => membersEverywhere('a,b,c,d'), 60_000)).toBe(true);
    const view = (await peerAs('a', 'observer', 'sc.view', {})).body as unknown as WireView;
    await c.crash('d');
    let stop = false;
    const keepAlive = (async () => {
      const deadline = Date.now() + 60_000;
      for (let n = 0; n < 2000 && !stop && Date.now() < deadline; n++) {
        await peerAs(['a', 'b', 'c'][n % 3] as string, 'd', 'sc.ping', {
          id: 'd',
          s: 'running',
          e: view.epoch,
          c: view.cluster,
          n: 4,
          l: 'a',
        }).catch(() => undefined);
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    try {
      expect(await eventually(() => membersEverywhere('a,b,c'), 4 * FAILURE_TIMEOUT_MS)).toBe(true);
    } finally {
      stop = true;
      await keepAlive;
    }
  }, 120_000);

  // HandoffParticipant.prepare trusts its own node (`from !== ctx.nodeId`):
  // under its own key, c used to take a made-up handoff as its own, stream
  // its snapshot to a and b, and on the forged switch hold the moving
  // partitions (writes waited about 10 s). The peer routes now refuse a call
  // under the receiver's own key before any handler runs.
  it("refuses a handoff prepare and switch sent to a node under that node's own key", async () => {
    await settled();
    const view = (await peerAs('c', 'observer', 'sc.view', {})).body as unknown as WireView;
    const sentBefore = (await c.client('c').stats()).handoff?.entriesSent ?? 0;
    for (let i = 0; i < 60; i++) await c.client('a').put([`own-${i}`, i]);
    const next = { ...dropping(view, 'c'), handoffs: [...view.handoffs, 'own-key'] };
    const prepare = await peerAs('c', 'c', 'sc.handoffPrepare', { h: 'own-key', prev: view, next });
    const sw = await peerAs('c', 'c', 'sc.handoffSwitch', { h: 'own-key' });
    for (const r of [prepare, sw]) {
      expect({ status: r.status, code: r.body.code }, String(r.body.message)).toEqual({
        status: 403,
        code: 'SC_ERR_FORBIDDEN',
      });
      // Refused by c itself, not by a target c streamed to.
      expect(String(r.body.message)).not.toMatch(/^node [ab] /);
    }
    expect((await c.client('c').stats()).handoff?.entriesSent ?? 0).toBe(sentBefore);
  }, 60_000);

  // ViewGuard.check skips every check for a view "from" the receiver itself
  // (`from === ctx.nodeId`), meant for a node's own commits, which never
  // travel (callNode runs them locally). Over the wire, a member key made for
  // the receiver's own id used to pass, and the receiver adopted epoch
  // 2^53-1 and stopped serving; the peer routes now refuse it.
  it("refuses a view sent to a node under that node's own key (epoch 2^53-1)", async () => {
    await settled();
    const view = (await peerAs('b', 'observer', 'sc.view', {})).body as unknown as WireView;
    const before = (await c.client('b').health()).epoch;
    const r = await peerAs('b', 'b', 'sc.viewCommit', { view: { ...view, epoch: Number.MAX_SAFE_INTEGER } });
    expect({ status: r.status, code: r.body.code }).toEqual({ status: 403, code: 'SC_ERR_FORBIDDEN' });
    expect((await c.client('b').health()).epoch).toBe(before);
  }, 60_000);
});
