import { promises as dns } from 'node:dns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterNode, dnsDiscovery, HttpTransport, identifyPeer, resolveDnsPeers } from '../src/index.js';
import { DnsResponder } from './dns-responder.js';

const SECRET = 'dns discovery secret';
const NAME = 'supercache.test.svc';
const SRV_NAME = `_supercache._tcp.${NAME}`;

let responder: DnsResponder;
let resolver: dns.Resolver;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  responder = await DnsResponder.start();
  resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([responder.server]);
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await responder.stop();
});

async function listeningTransport(nodeId: string, secret = SECRET): Promise<HttpTransport> {
  const t = new HttpTransport({ nodeId, secret, listen: { host: '127.0.0.1', port: 0 } });
  await t.start();
  cleanups.push(() => t.stop());
  return t;
}

function portOf(t: HttpTransport): number {
  return Number(new URL(t.address!).port);
}

describe('resolveDnsPeers', () => {
  it('turns A and AAAA records into peer URLs on the given port, IPv6 in brackets', async () => {
    responder.zone.set(NAME, { a: ['10.0.0.7', '10.0.0.8'], aaaa: ['fd00::7'] });
    const targets = await resolveDnsPeers({ name: NAME, port: 4100, resolver });
    expect(targets.map((t) => t.url).sort()).toEqual([
      'http://10.0.0.7:4100',
      'http://10.0.0.8:4100',
      'http://[fd00::7]:4100',
    ]);
    expect(responder.questions).toEqual(expect.arrayContaining([`A ${NAME}`, `AAAA ${NAME}`]));
  });

  it('turns SRV records into URLs of their targets and ports, lowest priority first', async () => {
    responder.zone.set(SRV_NAME, {
      srv: [
        { priority: 20, weight: 0, port: 4002, target: `supercache-2.${NAME}` },
        { priority: 10, weight: 5, port: 4001, target: `supercache-1.${NAME}` },
        { priority: 10, weight: 50, port: 4000, target: `supercache-0.${NAME}` },
      ],
    });
    const targets = await resolveDnsPeers({ name: SRV_NAME, records: 'srv', protocol: 'https', resolver });
    expect(targets).toEqual([
      { url: `https://supercache-0.${NAME}:4000`, hostname: `supercache-0.${NAME}` },
      { url: `https://supercache-1.${NAME}:4001`, hostname: `supercache-1.${NAME}` },
      { url: `https://supercache-2.${NAME}:4002`, hostname: `supercache-2.${NAME}` },
    ]);
  });

  it('answers an empty list for a name that does not exist or has no records of the type', async () => {
    expect(await resolveDnsPeers({ name: 'missing.test.svc', resolver })).toEqual([]);
    responder.zone.set(NAME, { a: ['10.0.0.1'] });
    expect(await resolveDnsPeers({ name: NAME, records: 'srv', resolver })).toEqual([]);
  });

  it('rejects with a retryable SC_ERR_PEER_UNAVAILABLE when the DNS server fails', async () => {
    responder.zone.set(NAME, { a: ['10.0.0.1'] });
    responder.failing = true;
    await expect(resolveDnsPeers({ name: NAME, resolver })).rejects.toMatchObject({
      code: 'SC_ERR_PEER_UNAVAILABLE',
      retryable: true,
    });
  });

  it('refuses bad options with SC_ERR_BAD_CONFIG', () => {
    const bad = [
      { name: '' },
      { name: NAME, port: 0 },
      { name: NAME, port: 70_000 },
      { name: NAME, records: 'mx' as 'a' },
      { name: NAME, protocol: 'ftp' as 'http' },
      { name: NAME, identify: 'hostname' as const },
      { name: NAME, timeoutMs: 0 },
    ];
    for (const o of bad) expect(() => resolveDnsPeers({ ...o, resolver })).toThrow(/DNS discovery/);
    expect(() => dnsDiscovery({ name: NAME, resolver })).toThrow(
      expect.objectContaining({ code: 'SC_ERR_BAD_CONFIG' }),
    );
  });
});

describe('dnsDiscovery', () => {
  it('resolves again on every call, so peers that come and go are followed', async () => {
    responder.zone.set(SRV_NAME, {
      srv: [{ priority: 0, weight: 0, port: 4000, target: `supercache-0.${NAME}` }],
    });
    const discover = dnsDiscovery({ name: SRV_NAME, records: 'srv', identify: 'hostname', resolver });
    expect(await discover()).toEqual([{ id: 'supercache-0', address: `http://supercache-0.${NAME}:4000` }]);
    responder.zone.set(SRV_NAME, {
      srv: [
        { priority: 0, weight: 0, port: 4000, target: `supercache-0.${NAME}` },
        { priority: 0, weight: 0, port: 4000, target: `supercache-1.${NAME}` },
      ],
    });
    expect((await discover()).map((p) => p.id).sort()).toEqual(['supercache-0', 'supercache-1']);
    responder.zone.delete(SRV_NAME);
    expect(await discover()).toEqual([]);
    expect(responder.questions.filter((q) => q === `SRV ${SRV_NAME}`)).toHaveLength(3);
  });

  it('asks each found peer its node id, and leaves out an address nobody answers on', async () => {
    const a = await listeningTransport('node-a');
    const b = await listeningTransport('node-b');
    const gone = await listeningTransport('node-gone');
    const gonePort = portOf(gone);
    await gone.stop();
    responder.zone.set(SRV_NAME, {
      srv: [a, b].map((t) => ({ priority: 0, weight: 0, port: portOf(t), target: '127.0.0.1' })),
    });
    responder.zone.get(SRV_NAME)!.srv!.push({ priority: 5, weight: 0, port: gonePort, target: '127.0.0.1' });
    const discover = dnsDiscovery({
      name: SRV_NAME,
      records: 'srv',
      secret: SECRET,
      timeoutMs: 2000,
      resolver,
    });
    const found = await discover();
    expect(found.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'node-a', address: a.address },
      { id: 'node-b', address: b.address },
    ]);
  });

  it('identifies peers found through A records on the given port', async () => {
    const a = await listeningTransport('node-a');
    responder.zone.set(NAME, { a: ['127.0.0.1'] });
    const discover = dnsDiscovery({ name: NAME, port: portOf(a), secret: SECRET, resolver });
    expect(await discover()).toEqual([{ id: 'node-a', address: a.address }]);
  });

  it('rejects with SC_ERR_UNAUTHORIZED when a peer refuses the secret, instead of hiding it', async () => {
    const a = await listeningTransport('node-a', 'another secret');
    responder.zone.set(NAME, { a: ['127.0.0.1'] });
    const discover = dnsDiscovery({ name: NAME, port: portOf(a), secret: SECRET, resolver });
    await expect(discover()).rejects.toMatchObject({ code: 'SC_ERR_UNAUTHORIZED' });
    await expect(identifyPeer(a.address!, SECRET)).rejects.toMatchObject({ code: 'SC_ERR_UNAUTHORIZED' });
  });

  it('lets a ClusterNode with no static peers join the cluster its DNS name points to', async () => {
    const ta = await listeningTransport('node-a');
    const a = new ClusterNode({ nodeId: 'node-a', transport: ta, address: ta.address!, heartbeatMs: 50 });
    a.table('t', { type: 'set', numPartitions: 8 });
    await a.start();
    cleanups.push(() => a.stop());
    const tb = await listeningTransport('node-b');
    // The name lists both nodes, as a headless Service lists every pod, this one included.
    responder.zone.set(SRV_NAME, {
      srv: [ta, tb].map((t) => ({ priority: 0, weight: 0, port: portOf(t), target: '127.0.0.1' })),
    });
    const b = new ClusterNode({
      nodeId: 'node-b',
      transport: tb,
      address: tb.address!,
      heartbeatMs: 50,
      refreshMs: 0,
      discover: dnsDiscovery({ name: SRV_NAME, records: 'srv', secret: SECRET, nodeId: 'node-b', resolver }),
    });
    b.table('t', { type: 'set', numPartitions: 8 });
    await b.start();
    cleanups.push(() => b.stop());
    expect(b.view.members).toEqual(['node-a', 'node-b']);
    expect(a.view.cluster).toBe(b.view.cluster);
  });
});
