/**
 * Mutual TLS against real `supercache-node` processes on 127.0.0.1, with
 * certificates the `openssl` CLI makes for this run: three members of one
 * CA form a cluster over https:// and serve reads and writes through the
 * JSON API (clients verify the nodes with the CA and present a client
 * certificate); a fourth node whose certificate another CA signed cannot
 * join, and the cluster's view and data are unchanged; JSON clients without
 * a certificate, without the CA, or over plain HTTP get nothing.
 */

import {
  makeTestCertificates,
  opensslMissing,
  type TestCert,
  type TestCertificates,
} from '@supercache/cluster/testing/certs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonClient } from '../src/json-client.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';
import { eventually, ROOT } from './process-cluster.js';

const SECRET = 'tls integration secret';
const PARTITIONS = 8;
const KEYS = 120;
const missing = opensslMissing();
if (missing !== undefined) console.warn(`tls integration tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('mutual TLS between real node processes', () => {
  let certs: TestCertificates;
  const nodes = new Map<string, NodeProcess>();
  const clients = new Map<string, JsonClient>();
  let rogue: NodeProcess | undefined;

  function tlsFlags(cert: TestCert, caFile: string): string[] {
    return ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--tls-ca', caFile];
  }

  /** A JSON client of `url` that trusts `ca` and presents the test client certificate. */
  function clientOf(url: string, ca = certs.ca): JsonClient {
    const me = certs.nodes.client!;
    return new JsonClient(url, { connections: 4, tls: { ca, cert: me.cert, key: me.key } });
  }

  async function startMember(id: string): Promise<NodeProcess> {
    const peers: Record<string, string> = {};
    for (const [p, n] of nodes) peers[p] = n.url;
    const node = await spawnNode(sourceCliCommand(ROOT), {
      id,
      secret: SECRET,
      peers,
      partitions: PARTITIONS,
      logLevel: 'warn',
      extraArgs: tlsFlags(certs.nodes[id]!, certs.caFile),
    });
    nodes.set(id, node);
    clients.set(id, clientOf(node.url));
    await node.ready;
    return node;
  }

  const client = (id: string) => clients.get(id)!;
  const members = async (id: string) => (await client(id).health()).members.map((m) => m.id).sort();

  beforeAll(async () => {
    certs = makeTestCertificates(['a', 'b', 'c', 'client']);
    await startMember('a');
    await startMember('b');
    await startMember('c');
    const settled = await eventually(async () => {
      for (const id of ['a', 'b', 'c']) {
        if ((await members(id)).join() !== 'a,b,c') return false;
      }
      return true;
    }, 30_000);
    expect(settled).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([...clients.values()].map((c) => c.close()));
    await Promise.allSettled(
      [...nodes.values(), ...(rogue === undefined ? [] : [rogue])].map((n) => n.kill()),
    );
    certs?.remove();
  });

  it('forms a cluster over https:// and serves writes and reads from every member', async () => {
    for (const n of nodes.values()) expect(n.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const via = ['a', 'b', 'c'];
    for (let i = 0; i < KEYS; i++) await client(via[i % 3]!).put([`k${i}`, i]);
    for (const id of via) {
      for (let i = 0; i < KEYS; i++) {
        expect(await client(id).get(`k${i}`)).toEqual([[`k${i}`, i]]);
      }
    }
    const sizes = await Promise.all(via.map(async (id) => (await client(id).stats()).size));
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(KEYS);
  }, 120_000);

  it('refuses JSON clients without a client certificate, without the CA, or over plain HTTP', async () => {
    const url = nodes.get('a')!.url;
    const anonymous = new JsonClient(url, { tls: { ca: certs.ca } });
    const trustsNobody = new JsonClient(url, {
      tls: { cert: certs.nodes.client!.cert, key: certs.nodes.client!.key },
    });
    const foreign = new JsonClient(url, {
      tls: { ca: certs.ca, cert: certs.rogue.cert, key: certs.rogue.key },
    });
    try {
      for (const c of [anonymous, trustsNobody, foreign]) await expect(c.get('k1')).rejects.toThrow();
      await expect(
        request(`${url.replace('https:', 'http:')}/v1/stats`).then((r) => r.body.text()),
      ).rejects.toThrow();
    } finally {
      await Promise.all([anonymous.close(), trustsNobody.close(), foreign.close()]);
    }
    // The same node answers a client with a certificate of the CA.
    expect(await client('a').get('k1')).toEqual([['k1', 1]]);
  });

  it('keeps out a node whose certificate another CA signed: the view and the data are unchanged', async () => {
    const before = await Promise.all(['a', 'b', 'c'].map(async (id) => (await client(id).health()).epoch));
    const peers = Object.fromEntries([...nodes].map(([id, n]) => [id, n.url]));
    // The rogue trusts the cluster's CA (it is no secret) but holds a
    // certificate of its own CA: every member ends its handshakes.
    rogue = await spawnNode(sourceCliCommand(ROOT), {
      id: 'd',
      secret: SECRET,
      peers,
      partitions: PARTITIONS,
      logLevel: 'warn',
      extraArgs: tlsFlags(certs.rogue, certs.caFile),
    });
    // No member answers it, so it either gives up or ends up alone in a
    // cluster of its own; it never gets into theirs.
    const outcome = await Promise.race([
      rogue.ready.then(
        () => 'ready' as const,
        () => 'failed' as const,
      ),
      rogue.exited.then(() => 'failed' as const),
    ]);
    if (outcome === 'ready') {
      const own = new JsonClient(rogue.url, {
        tls: { ca: certs.rogueCa, cert: certs.nodes.client!.cert, key: certs.nodes.client!.key },
      });
      try {
        expect((await own.health()).members.map((m) => m.id)).toEqual(['d']);
        // None of the cluster's data reached it.
        expect((await own.stats()).size).toBe(0);
        expect(await own.get('k1')).toEqual([]);
      } finally {
        await own.close();
      }
    }
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      const h = await client(id).health();
      expect(h.members.map((m) => m.id).sort()).toEqual(['a', 'b', 'c']);
      expect(h.epoch).toBe(before[i]);
    }
    for (let i = 0; i < KEYS; i++) {
      expect(await client(['a', 'b', 'c'][i % 3]!).get(`k${i}`)).toEqual([[`k${i}`, i]]);
    }
    const sizes = await Promise.all(['a', 'b', 'c'].map(async (id) => (await client(id).stats()).size));
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(KEYS);
  }, 120_000);

  it('exits at start-up, naming the file, when a TLS file cannot be read', async () => {
    const absent = `${certs.dir}/absent.key`;
    await expect(
      spawnNode(sourceCliCommand(ROOT), {
        id: 'e',
        secret: SECRET,
        logLevel: 'warn',
        extraArgs: ['--tls-cert', certs.nodes.a!.certFile, '--tls-key', absent, '--tls-ca', certs.caFile],
      }),
    ).rejects.toThrow(/cannot read the TLS key file/);
  });
});
