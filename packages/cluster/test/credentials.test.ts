import { SuperCacheError } from '@supercache/storage';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_METHODS,
  ClusterNode,
  CredentialVerifier,
  clientToken,
  decode,
  encode,
  HttpTransport,
  MSGPACK_CONTENT_TYPE,
  memberCredential,
  PEER_ROUTES,
  type View,
} from '../src/index.js';

const SECRET = 'credentials-test-secret';

describe('CredentialVerifier', () => {
  const verifier = new CredentialVerifier({
    secret: SECRET,
    clientTokens: [{ token: 'configured-token-0123456789', readOnly: true, name: 'ops' }],
  });

  it('binds a member key to the node id it was made for', () => {
    const key = `Bearer ${memberCredential(SECRET, 'a')}`;
    expect(verifier.verify(key, 'a')).toEqual({ kind: 'member', nodeId: 'a' });
    // The same key presented as another node, or without a node, is refused.
    for (const node of ['b', 'A', '', undefined]) {
      expect(() => verifier.verify(key, node)).toThrowError(
        expect.objectContaining({ code: 'SC_ERR_UNAUTHORIZED' }),
      );
    }
  });

  it('refuses the bare secret, a key made from another secret, and malformed headers', () => {
    for (const header of [
      `Bearer ${SECRET}`,
      `Bearer ${memberCredential(`${SECRET}!`, 'a')}`,
      memberCredential(SECRET, 'a'),
      `Bearer ${memberCredential(SECRET, 'a').slice(0, -2)}`,
      `Bearer scc1.app`,
      `Bearer scc1..${'0'.repeat(64)}`,
      `Bearer ${'x'.repeat(5000)}`,
      '',
      undefined,
      42,
    ]) {
      expect(() => verifier.verify(header, 'a'), String(header).slice(0, 40)).toThrowError(
        expect.objectContaining({ code: 'SC_ERR_UNAUTHORIZED' }),
      );
    }
  });

  it('names a client by its derived token, read-only or not, and by a configured token', () => {
    expect(verifier.verify(`Bearer ${clientToken(SECRET, 'app')}`, 'whatever')).toEqual({
      kind: 'client',
      name: 'app',
      readOnly: false,
    });
    expect(verifier.verify(`Bearer ${clientToken(SECRET, 'app', { readOnly: true })}`, undefined)).toEqual({
      kind: 'client',
      name: 'app',
      readOnly: true,
    });
    expect(verifier.verify('Bearer configured-token-0123456789', undefined)).toEqual({
      kind: 'client',
      name: 'ops',
      readOnly: true,
    });
    // A read-only token relabelled as read-write (or another name) does not verify.
    const ro = clientToken(SECRET, 'app', { readOnly: true });
    for (const forged of [`scc1.${ro.slice(5)}`, ro.replace('.app.', '.ap2.')]) {
      expect(() => verifier.verify(`Bearer ${forged}`, undefined)).toThrowError(
        expect.objectContaining({ code: 'SC_ERR_UNAUTHORIZED' }),
      );
    }
  });

  it('refuses bad configuration with SC_ERR_BAD_CONFIG', () => {
    expect(() => new CredentialVerifier({ clientTokens: [{ token: 'short' }] })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new CredentialVerifier({})).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => clientToken(SECRET, 'has.dot')).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(() => new HttpTransport({ nodeId: 'x' })).toThrowError(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
    expect(
      () => new HttpTransport({ nodeId: 'x', clientToken: clientToken(SECRET, 'x'), listen: { port: 0 } }),
    ).toThrowError(expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }));
  });
});

/** The member-only methods a client tries, each with a body that would act if it were let through. */
function memberAttacks(view: View): Array<[string, Record<string, unknown>]> {
  const forged = { ...view, epoch: view.epoch + 1, members: [view.members[0]] };
  return [
    ['sc.viewCommit', { view: forged }],
    ['sc.viewPropose', { view: forged }],
    ['sc.join', { id: 'evil', address: 'http://127.0.0.1:1' }],
    ['sc.leave', { id: view.members[1] }],
    ['sc.tableJoin', { t: 'set' }],
    ['sc.ping', { e: view.epoch }],
    ['sc.handoffPrepare', { h: 'forged', e: view.epoch + 1 }],
    ['sc.handoffSwitch', { h: 'forged', e: view.epoch + 1 }],
    ['sc.handoffChunk', { h: 'forged', t: 'set', e: view.epoch + 1, items: [] }],
    ['sc.handoffDelta', { h: 'forged', t: 'set', e: view.epoch + 1, items: [] }],
    ['sc.handoffDone', { h: 'forged', t: 'set', e: view.epoch + 1 }],
    ['sc.handoffAbort', { h: 'forged' }],
    ['sc.replicate', { t: 'set', e: view.epoch, b: [] }],
    ['sc.replicaDigest', { t: 'set', e: view.epoch, p: 0, s: 0, d: [] }],
    ['sc.replicaSnapshot', { t: 'set', e: view.epoch, p: 0, s: 0, items: [] }],
  ];
}

describe('member and client credentials on real HTTP nodes', () => {
  const nodes: ClusterNode[] = [];
  const transports: HttpTransport[] = [];
  let app: HttpTransport;
  let reader: HttpTransport;

  const startNode = async (id: string, peers: Array<{ id: string; address: string }>) => {
    const transport = new HttpTransport({
      nodeId: id,
      secret: SECRET,
      listen: { host: '127.0.0.1', port: 0 },
    });
    await transport.start();
    const node = new ClusterNode({
      nodeId: id,
      transport,
      address: transport.address!,
      peers,
      heartbeatMs: 50,
    });
    node.table('set', { type: 'set', numPartitions: 8 });
    await node.start();
    nodes.push(node);
    transports.push(transport);
    return transport.address!;
  };

  const client = async (token: string) => {
    const t = new HttpTransport({
      nodeId: 'app',
      clientToken: token,
      peers: { a: transports[0]!.address!, b: transports[1]!.address! },
      retries: 0,
    });
    await t.start();
    return t;
  };

  /** Runs a routed command on whichever member owns the key. */
  const exec = async (via: HttpTransport, key: string, c: string, a: unknown[]) => {
    const view = nodes[0]!.view;
    let last: unknown;
    for (const m of view.members) {
      try {
        return await via.call(m, 'sc.exec', { t: 'set', e: view.epoch, pd: key, c, a });
      } catch (e) {
        if (!(SuperCacheError.is(e) && e.code === 'SC_ERR_NOT_OWNER')) throw e;
        last = e;
      }
    }
    throw last;
  };

  beforeAll(async () => {
    const a = await startNode('a', []);
    await startNode('b', [{ id: 'a', address: a }]);
    app = await client(clientToken(SECRET, 'app'));
    reader = await client(clientToken(SECRET, 'dash', { readOnly: true }));
  }, 30_000);

  afterAll(async () => {
    await app?.stop();
    await reader?.stop();
    for (const n of nodes.reverse()) await n.stop();
    for (const t of transports) await t.stop();
  });

  it('lets a client run data-plane commands and read the view', async () => {
    const view = (await app.call('a', 'sc.view', {})) as View;
    expect(view.members).toEqual(['a', 'b']);
    await exec(app, 'k1', 'insert', [[['k1', 1]]]);
    expect(await exec(app, 'k1', 'lookup', ['k1'])).toEqual([['k1', 1]]);
    expect(await nodes[1]!.getTable('set')!.router.lookup('k1')).toEqual([['k1', 1]]);
    const epoch = nodes[0]!.view.epoch;
    expect(await app.call('a', 'sc.node', { t: 'set', e: epoch, c: 'size', a: [] })).toBeTypeOf('number');
    const { id } = (await app.call('a', 'sc.cursorOpen', {
      t: 'set',
      e: epoch,
      k: 'objects',
      a: null,
    })) as { id: number };
    expect(await app.call('a', 'sc.cursorNext', { t: 'set', id, n: 10 })).toBeDefined();
    expect(await app.call('a', 'sc.cursorClose', { t: 'set', id })).toBe(true);
  });

  it('refuses every member method to a client with 403 SC_ERR_FORBIDDEN, and nothing changes', async () => {
    const before = nodes.map((n) => n.view);
    const size = await nodes[0]!.getTable('set')!.router.size();
    for (const [method, body] of memberAttacks(before[0]!)) {
      expect(CLIENT_METHODS.has(method)).toBe(false);
      for (const target of ['a', 'b']) {
        const e = await app.call(target, method, body).catch((x: unknown) => x);
        expect(e, `${method} on ${target}`).toMatchObject({
          code: 'SC_ERR_FORBIDDEN',
          details: { method },
        });
      }
    }
    expect(nodes.map((n) => n.view)).toEqual(before);
    expect(await nodes[0]!.getTable('set')!.router.size()).toBe(size);
  });

  it('refuses a whole batch that mixes a member method into data-plane calls', async () => {
    const epoch = nodes[0]!.view.epoch;
    const calls = [
      app.call('a', 'sc.view', {}),
      app.call('a', 'sc.viewCommit', { view: { ...nodes[0]!.view, epoch: epoch + 5 } }),
    ];
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toMatchObject({ code: 'SC_ERR_FORBIDDEN' });
    }
    expect(nodes[0]!.view.epoch).toBe(epoch);
  });

  it('lets a read-only token read but refuses its writes with SC_ERR_FORBIDDEN', async () => {
    await exec(app, 'k2', 'insert', [[['k2', 'kept']]]);
    expect(await exec(reader, 'k2', 'lookup', ['k2'])).toEqual([['k2', 'kept']]);
    for (const [c, a] of [
      ['insert', [[['k2', 'overwritten']]]],
      ['delete', ['k2']],
    ] as const) {
      await expect(exec(reader, 'k2', c, [...a])).rejects.toMatchObject({ code: 'SC_ERR_FORBIDDEN' });
    }
    const epoch = nodes[0]!.view.epoch;
    await expect(
      reader.call('a', 'sc.node', { t: 'set', e: epoch, c: 'deleteAllObjects', a: [] }),
    ).rejects.toMatchObject({
      code: 'SC_ERR_FORBIDDEN',
    });
    expect(await nodes[0]!.getTable('set')!.router.lookup('k2')).toEqual([['k2', 'kept']]);
  });

  it('refuses a member key presented with an envelope naming another node (403), and a key for another id (401)', async () => {
    const url = transports[1]!.address!;
    const send = async (key: string, node: string, from: string, method: string, body: unknown) => {
      const r = await request(`${url}${PEER_ROUTES.call}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'x-supercache-node': node,
          'content-type': MSGPACK_CONTENT_TYPE,
        },
        body: Buffer.from(encode({ v: 1, from, method, body })),
      });
      return {
        status: r.statusCode,
        body: decode(new Uint8Array(await r.body.arrayBuffer())) as { code: string },
      };
    };
    const epoch = nodes[1]!.view.epoch;
    // Member "m" pings b as "a" (to keep a alive), or names a as the envelope sender.
    const asA = await send(memberCredential(SECRET, 'm'), 'm', 'a', 'sc.ping', { e: epoch });
    expect(asA).toMatchObject({ status: 403, body: { code: 'SC_ERR_FORBIDDEN' } });
    // The key of "m" presented as node "a".
    const keyOfM = await send(memberCredential(SECRET, 'm'), 'a', 'a', 'sc.ping', { e: epoch });
    expect(keyOfM).toMatchObject({ status: 401, body: { code: 'SC_ERR_UNAUTHORIZED' } });
    // A client token cannot pass as a member either, whatever its headers say.
    const clientAsA = await send(clientToken(SECRET, 'a'), 'a', 'a', 'sc.ping', { e: epoch });
    expect(clientAsA).toMatchObject({ status: 403, body: { code: 'SC_ERR_FORBIDDEN' } });
    // The real a, with its own key, is served.
    const real = await send(memberCredential(SECRET, 'a'), 'a', 'a', 'sc.view', {});
    expect(real.status).toBe(200);
    expect(nodes[1]!.view.epoch).toBe(epoch);
  });

  it("refuses a call under the receiving node's own key: a node's calls to itself never travel", async () => {
    const url = transports[1]!.address!;
    const epoch = nodes[1]!.view.epoch;
    const view = nodes[1]!.view;
    const r = await request(`${url}${PEER_ROUTES.call}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${memberCredential(SECRET, 'b')}`,
        'x-supercache-node': 'b',
        'content-type': MSGPACK_CONTENT_TYPE,
      },
      body: Buffer.from(
        encode({ v: 1, from: 'b', method: 'sc.viewCommit', body: { view: { ...view, epoch: epoch + 1 } } }),
      ),
    });
    const body = decode(new Uint8Array(await r.body.arrayBuffer())) as { code: string };
    expect({ status: r.statusCode, code: body.code }).toEqual({ status: 403, code: 'SC_ERR_FORBIDDEN' });
    expect(nodes[1]!.view.epoch).toBe(epoch);
  });
});
