import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS, parseNodeArgs, parsePeers, UsageError, usage } from '../src/args.js';

const base = ['--id', 'a', '--secret', 's'];

function config(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseNodeArgs(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected a run configuration');
  return parsed.config;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseNodeArgs(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseNodeArgs', () => {
  it('fills in the defaults', () => {
    expect(config(base)).toEqual({
      id: 'a',
      host: '127.0.0.1',
      port: 4000,
      peers: [],
      secret: 's',
      partitions: 16,
      tableType: 'set',
      replicationFactor: 1,
      replicationMode: 'async',
      logLevel: 'info',
      clientTokens: [],
      readOnlyClientTokens: [],
    });
  });

  it('reads client tokens and a separate client API address', () => {
    const t1 = 'token-one-0123456789';
    const t2 = 'token-two-0123456789';
    const c = config([
      ...base,
      '--client-token',
      t1,
      '--client-token',
      t2,
      '--read-only-client-token',
      'reader-token-0123456',
      '--client-host',
      '0.0.0.0',
      '--client-port',
      '4100',
    ]);
    expect(c).toMatchObject({
      clientTokens: [t1, t2],
      readOnlyClientTokens: ['reader-token-0123456'],
      clientListen: { host: '0.0.0.0', port: 4100 },
    });
    const fromEnv = config(base, { SUPERCACHE_CLIENT_TOKENS: `${t1}, ${t2}`, SUPERCACHE_CLIENT_PORT: '0' });
    expect(fromEnv).toMatchObject({ clientTokens: [t1, t2], clientListen: { host: '127.0.0.1', port: 0 } });
    expect(usageError([...base, '--client-token', 'short'])).toMatch(/at least 16 characters/);
  });

  it('refuses an open client API on an address that is not loopback', () => {
    expect(usageError([...base, '--host', '0.0.0.0'])).toMatch(/without authentication/);
    expect(usageError([...base, '--client-host', '10.0.0.5'])).toMatch(/without authentication/);
    // The peer port may face a network when the open API stays on loopback.
    expect(config([...base, '--host', '0.0.0.0', '--client-host', '127.0.0.1']).clientListen).toEqual({
      host: '127.0.0.1',
      port: 0,
    });
    for (const host of ['::1', '127.0.0.2', 'localhost'])
      expect(config([...base, '--host', host]).host).toBe(host);
  });

  it('prints a client token derived from the secret', () => {
    const rw = parseNodeArgs([...base, '--print-client-token', 'app']);
    const ro = parseNodeArgs([...base, '--print-client-token', 'app', '--read-only']);
    expect(rw).toMatchObject({ kind: 'token', token: expect.stringMatching(/^scc1\.app\.[0-9a-f]{64}$/) });
    expect(ro).toMatchObject({ kind: 'token', token: expect.stringMatching(/^scr1\.app\.[0-9a-f]{64}$/) });
    expect(usageError(['--print-client-token', 'app'])).toMatch(/needs --secret/);
  });

  it('reads every flag', () => {
    const c = config([
      ...base,
      '--host',
      '0.0.0.0',
      '--client-token',
      'a-long-enough-client-token',
      '--port',
      '0',
      '--peers',
      'b=http://127.0.0.1:4001, c=http://127.0.0.1:4002/',
      '--partitions',
      '32',
      '--table-type',
      'ordered_set',
      '--log-level',
      'silent',
    ]);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      partitions: 32,
      tableType: 'ordered_set',
      logLevel: 'silent',
      peers: [
        { id: 'b', address: 'http://127.0.0.1:4001' },
        { id: 'c', address: 'http://127.0.0.1:4002' },
      ],
    });
  });

  it('reads the failure timeout and heartbeat, and refuses a heartbeat too slow for the timeout', () => {
    expect(config([...base, '--failure-timeout-ms', '1200', '--heartbeat-ms', '100'])).toMatchObject({
      failureTimeoutMs: 1200,
      heartbeatMs: 100,
    });
    expect(config(base, { SUPERCACHE_FAILURE_TIMEOUT_MS: '900' }).failureTimeoutMs).toBe(900);
    expect(usageError([...base, '--failure-timeout-ms', '1200', '--heartbeat-ms', '500'])).toMatch(
      /at most a third/,
    );
    expect(usageError([...base, '--failure-timeout-ms', '5'])).toMatch(/--failure-timeout-ms must be/);
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const env = {
      SUPERCACHE_NODE_ID: 'env-id',
      SUPERCACHE_SECRET: 'env-secret',
      SUPERCACHE_HOST: '::1',
      SUPERCACHE_PORT: '5000',
      SUPERCACHE_PEERS: 'x=http://h:1',
      SUPERCACHE_PARTITIONS: '8',
      SUPERCACHE_TABLE_TYPE: 'bag',
      SUPERCACHE_LOG_LEVEL: 'warn',
    };
    expect(config([], env)).toMatchObject({
      id: 'env-id',
      secret: 'env-secret',
      host: '::1',
      port: 5000,
      peers: [{ id: 'x', address: 'http://h:1' }],
      partitions: 8,
      tableType: 'bag',
      logLevel: 'warn',
    });
    expect(config(['--id', 'flag-id', '--port', '6000'], env)).toMatchObject({ id: 'flag-id', port: 6000 });
  });

  it('drops this node from its own peer list', () => {
    expect(config([...base, '--peers', 'a=http://h:1,b=http://h:2']).peers).toEqual([
      { id: 'b', address: 'http://h:2' },
    ]);
  });

  it('asks for help', () => {
    expect(parseNodeArgs(['--help'])).toEqual({ kind: 'help' });
    expect(usage()).toContain('--peers');
    expect(usage()).toContain('SUPERCACHE_SECRET');
  });

  it('reads the TLS flags and their environment variables; client auth defaults to require with a CA', () => {
    const tls = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem'];
    expect(config([...base, ...tls]).tls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      clientAuth: 'none',
    });
    expect(config([...base, ...tls, '--tls-ca', 'ca.pem']).tls).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
      caFile: 'ca.pem',
      clientAuth: 'require',
    });
    expect(config([...base, ...tls, '--tls-ca', 'ca.pem', '--tls-client-auth', 'none']).tls?.clientAuth).toBe(
      'none',
    );
    expect(
      config(base, {
        SUPERCACHE_TLS_CERT: 'e.pem',
        SUPERCACHE_TLS_KEY: 'ek.pem',
        SUPERCACHE_TLS_CA: 'eca.pem',
        SUPERCACHE_TLS_CLIENT_AUTH: 'require',
      }).tls,
    ).toEqual({ certFile: 'e.pem', keyFile: 'ek.pem', caFile: 'eca.pem', clientAuth: 'require' });
    expect(config(base).tls).toBeUndefined();
    expect(usage()).toContain('--tls-client-auth');
  });

  it('refuses TLS flags that do not go together, and http:// peers under TLS', () => {
    expect(usageError([...base, '--tls-cert', 'c.pem'])).toMatch(/--tls-key/);
    expect(usageError([...base, '--tls-key', 'k.pem'])).toMatch(/--tls-cert/);
    expect(usageError([...base, '--tls-ca', 'ca.pem'])).toMatch(/--tls-cert/);
    const tls = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem'];
    expect(usageError([...base, ...tls, '--tls-client-auth', 'require'])).toMatch(/--tls-ca/);
    expect(usageError([...base, ...tls, '--tls-ca', 'ca.pem', '--tls-client-auth', 'maybe'])).toMatch(
      /--tls-client-auth/,
    );
    expect(usageError([...base, ...tls, '--peers', 'b=http://127.0.0.1:4001'])).toMatch(/https/);
    expect(config([...base, ...tls, '--peers', 'b=https://127.0.0.1:4001']).peers).toEqual([
      { id: 'b', address: 'https://127.0.0.1:4001' },
    ]);
  });

  it('refuses bad input with a message naming the flag', () => {
    expect(usageError(['--secret', 's'])).toContain('--id');
    expect(usageError(['--id', 'a'])).toContain('--secret');
    expect(usageError([...base, '--port', '70000'])).toContain('--port');
    expect(usageError([...base, '--port', '12ab'])).toContain('--port');
    expect(usageError([...base, '--partitions', '0'])).toContain('--partitions');
    expect(usageError([...base, '--table-type', 'heap'])).toContain('--table-type');
    expect(usageError([...base, '--log-level', 'loud'])).toContain('--log-level');
    expect(usageError([...base, '--bogus'])).toContain('bogus');
    expect(usageError([...base, 'positional'])).toContain('positional');
    expect(usageError([...base, '--port'])).toContain('--port');
    expect(usageError(['--id', 'bad id!', '--secret', 's'])).toContain('--id');
  });
});

describe('parsePeers', () => {
  it('parses id=url pairs, trimming spaces and empty entries', () => {
    expect(parsePeers(' a=http://10.0.0.1:4000 ,,b=https://h.example:443')).toEqual([
      { id: 'a', address: 'http://10.0.0.1:4000' },
      { id: 'b', address: 'https://h.example' },
    ]);
    expect(parsePeers('')).toEqual([]);
  });

  it('refuses malformed entries and duplicates', () => {
    expect(() => parsePeers('http://h:1')).toThrow(UsageError);
    expect(() => parsePeers('a=')).toThrow(UsageError);
    expect(() => parsePeers('a=ftp://h')).toThrow(/http/);
    expect(() => parsePeers('a=http://h:1,a=http://h:2')).toThrow(/twice/);
  });
});

describe('the README CLI table', () => {
  it('lists every flag the parser takes, with its environment variable', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `--'));
    for (const o of OPTIONS) {
      const row = rows.find((r) => r.startsWith(`| \`${o.flag}\``) || r.startsWith(`| \`${o.flag} `));
      expect(row, o.flag).toBeDefined();
      if (o.env !== undefined) expect(row, o.flag).toContain(`\`${o.env}\``);
    }
  });
});
