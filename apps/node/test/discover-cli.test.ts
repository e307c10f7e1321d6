import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DnsResponder } from '@supercache/cluster/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeArgs, UsageError } from '../src/args.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';

const base = ['--id', 'a', '--secret', 's'];

function discoverOf(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseNodeArgs([...base, ...argv], env);
  if (parsed.kind !== 'run') throw new Error('expected a run configuration');
  return parsed.config.discover;
}

function usageError(argv: string[]): string {
  try {
    parseNodeArgs([...base, ...argv]);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('--discover-dns / --discover-srv', () => {
  it('reads the name and the DNS servers from flags or the environment', () => {
    expect(discoverOf([])).toBeUndefined();
    expect(discoverOf(['--discover-dns', 'supercache.default.svc.cluster.local'])).toEqual({
      records: 'a',
      name: 'supercache.default.svc.cluster.local',
    });
    expect(
      discoverOf([], {
        SUPERCACHE_DISCOVER_SRV: '_supercache._tcp.supercache',
        SUPERCACHE_DNS_SERVERS: '10.0.0.10, [fd00::10]:5353,127.0.0.1:53',
      }),
    ).toEqual({
      records: 'srv',
      name: '_supercache._tcp.supercache',
      dnsServers: ['10.0.0.10', '[fd00::10]:5353', '127.0.0.1:53'],
    });
  });

  it('refuses both at once, a malformed name, bad DNS servers, and A records with --port 0', () => {
    expect(usageError(['--discover-dns', 'a.example', '--discover-srv', '_x._tcp.a.example'])).toContain(
      'not both',
    );
    expect(usageError(['--discover-dns', 'not a name'])).toContain('is not a DNS name');
    expect(usageError(['--discover-dns', 'a.example', '--dns-servers', 'dns.example'])).toContain(
      'must be an IP address',
    );
    expect(usageError(['--dns-servers', '10.0.0.10'])).toContain('needs --discover-dns');
    expect(usageError(['--discover-dns', 'a.example', '--port', '0'])).toContain('must not be 0');
  });
});

describe('supercache-node with --discover-srv', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const command = sourceCliCommand(root);
  const started: NodeProcess[] = [];
  let responder: DnsResponder;
  beforeAll(async () => {
    responder = await DnsResponder.start();
  });
  afterAll(async () => {
    await Promise.all(started.map((n) => n.kill()));
    await responder.stop();
  });

  it('joins the node its SRV records point to, with no --peers', async () => {
    const name = '_supercache._tcp.cache.test';
    const first = await spawnNode(command, {
      id: 'n1',
      secret: 'dns',
      logLevel: 'silent',
      extraArgs: ['--discover-srv', name, '--dns-servers', responder.server],
    });
    started.push(first);
    // Nothing in DNS yet: the first node forms the cluster.
    await first.ready;
    responder.zone.set(name, {
      srv: [{ priority: 0, weight: 0, port: Number(new URL(first.url).port), target: '127.0.0.1' }],
    });
    const second = await spawnNode(command, {
      id: 'n2',
      secret: 'dns',
      logLevel: 'silent',
      extraArgs: ['--discover-srv', name, '--dns-servers', responder.server],
    });
    started.push(second);
    await second.ready;
    const health = await request(`${first.url}/health`);
    const body = (await health.body.json()) as { members: Array<{ id: string }> };
    expect(body.members.map((m) => m.id).sort()).toEqual(['n1', 'n2']);
    expect(responder.questions).toContain(`SRV ${name}`);
  }, 60_000);
});
