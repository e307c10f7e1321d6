/**
 * The HTTP transport over TLS and mutual TLS, with certificates made by the
 * `openssl` CLI for this run (see test-certs.ts): calls round-trip between
 * members of one CA; a member with a certificate from another CA is refused
 * on either side of the handshake; a plain-HTTP client gets nothing from a
 * TLS server; a TLS transport never sends its secret to an http: peer; bad
 * TLS options fail at construction with SC_ERR_BAD_CONFIG.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport, readTlsFiles, resolveTls, type TlsOptions } from '../src/index.js';
import { makeTestCertificates, opensslMissing, type TestCertificates } from './test-certs.js';
import { rejection } from './transport-compliance.js';

const SECRET = 'tls test secret';
const missing = opensslMissing();
if (missing !== undefined) console.warn(`transport-tls tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('HttpTransport over TLS', () => {
  let certs: TestCertificates;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(() => {
    certs = makeTestCertificates(['a', 'b']);
  });
  afterAll(() => certs?.remove());
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** Member `name`'s TLS options: its certificate, the cluster CA, client certificates required. */
  function member(name: string): TlsOptions {
    const n = certs.nodes[name]!;
    return { cert: n.cert, key: n.key, ca: certs.ca, requireClientCert: true };
  }

  /** A started transport with an `echo` handler that counts the calls it serves. */
  async function node(nodeId: string, tls: TlsOptions | undefined, listen = true) {
    const served = { count: 0 };
    const t = new HttpTransport({
      nodeId,
      secret: SECRET,
      ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
      ...(tls === undefined ? {} : { tls }),
      retries: 0,
      timeoutMs: 5_000,
    });
    t.handle('echo', (body) => {
      served.count++;
      return body;
    });
    await t.start();
    cleanup.push(() => t.stop());
    return { t, served };
  }

  it('round-trips calls, batches and pings between two members over mutual TLS, on https: addresses', async () => {
    const a = await node('a', member('a'));
    const b = await node('b', member('b'));
    expect(a.t.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    a.t.setPeerAddress('b', b.t.address!);
    b.t.setPeerAddress('a', a.t.address!);
    await expect(a.t.call('b', 'echo', [1n, 'x', { y: null }])).resolves.toEqual([1n, 'x', { y: null }]);
    await expect(b.t.call('a', 'echo', 'back')).resolves.toBe('back');
    // Calls made in one turn travel as one batch request.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => a.t.call('b', 'echo', i)));
    expect(many).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(typeof (await a.t.ping('b'))).toBe('number');
    expect(b.served.count).toBe(21);
  });

  // The server ends the connection right after the handshake, without a
  // word (Node checks the chain once the handshake is done), so the caller
  // can only tell that the peer did not answer.
  it('refuses a caller whose certificate comes from another CA: the call fails unanswered and the handler never runs', async () => {
    const b = await node('b', member('b'));
    // The rogue trusts the cluster CA (so it accepts b's certificate); b
    // does not trust the rogue's.
    const rogue = await node('rogue', { cert: certs.rogue.cert, key: certs.rogue.key, ca: certs.ca }, false);
    rogue.t.setPeerAddress('b', b.t.address!);
    const e = await rejection(rogue.t.call('b', 'echo', 'let me in'));
    expect(e.code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect((await rejection(rogue.t.ping('b'))).code).toBe('SC_ERR_PEER_UNAVAILABLE');
    expect(b.served.count).toBe(0);
    // A member of the CA calls the same server fine: the refusal is the certificate's.
    const a = await node('a', member('a'), false);
    a.t.setPeerAddress('b', b.t.address!);
    await expect(a.t.call('b', 'echo', 'member')).resolves.toBe('member');
    expect(b.served.count).toBe(1);
  });

  it('refuses a caller with no certificate at all when client certificates are required', async () => {
    const b = await node('b', member('b'));
    const anonymous = await node('anon', { ca: certs.ca }, false);
    anonymous.t.setPeerAddress('b', b.t.address!);
    const e = await rejection(anonymous.t.call('b', 'echo', 1));
    expect(['SC_ERR_TLS', 'SC_ERR_PEER_UNAVAILABLE']).toContain(e.code);
    expect(b.served.count).toBe(0);
  });

  it('refuses to call a server whose certificate comes from another CA (the secret is never sent)', async () => {
    const impostor = await node('b', { cert: certs.rogue.cert, key: certs.rogue.key });
    const a = await node('a', member('a'), false);
    a.t.setPeerAddress('b', impostor.t.address!);
    const e = await rejection(a.t.call('b', 'echo', 'secret stuff'));
    expect(e.code).toBe('SC_ERR_TLS');
    expect(e.retryable).toBe(false);
    expect(e.details).toMatchObject({ peer: 'b' });
    expect(impostor.served.count).toBe(0);
  });

  it('gives a plain-HTTP client of a TLS server no answer: its call fails and no handler runs', async () => {
    const b = await node('b', member('b'));
    const plain = await node('plain', undefined, false);
    plain.t.setPeerAddress('b', b.t.address!.replace('https:', 'http:'));
    const e = await rejection(plain.t.call('b', 'echo', 'hello?'));
    expect(['SC_ERR_PEER_UNAVAILABLE', 'SC_ERR_TLS']).toContain(e.code);
    // A raw HTTP request with the right secret fares no better.
    await expect(
      request(`${b.t.address!.replace('https:', 'http:')}/_supercache/v1/ping`, {
        headers: { authorization: `Bearer ${SECRET}` },
      }).then((r) => r.body.text()),
    ).rejects.toThrow();
    expect(b.served.count).toBe(0);
  });

  it('does not send to an http: peer: SC_ERR_TLS, and the plain server sees no request', async () => {
    const plain = await node('b', undefined);
    const a = await node('a', member('a'), false);
    a.t.setPeerAddress('b', plain.t.address!);
    const e = await rejection(a.t.call('b', 'echo', 'in clear?'));
    expect(e.code).toBe('SC_ERR_TLS');
    // Addressed as https:, a plain server cannot answer the handshake.
    a.t.setPeerAddress('b', plain.t.address!.replace('http:', 'https:'));
    expect((await rejection(a.t.call('b', 'echo', 'handshake?'))).code).toBe('SC_ERR_TLS');
    expect(plain.served.count).toBe(0);
  });

  it('serves TLS without client certificates when requireClientCert is off; a client without the CA is refused', async () => {
    const n = certs.nodes.b!;
    const b = await node('b', { cert: n.cert, key: n.key });
    const client = await node('client', { ca: certs.ca }, false);
    client.t.setPeerAddress('b', b.t.address!);
    await expect(client.t.call('b', 'echo', 'ok')).resolves.toBe('ok');
    // Node's public CA list does not know the test CA.
    const stranger = await node('stranger', {}, false);
    stranger.t.setPeerAddress('b', b.t.address!);
    expect((await rejection(stranger.t.call('b', 'echo', 'no'))).code).toBe('SC_ERR_TLS');
    expect(b.served.count).toBe(1);
  });

  it('checks a server certificate against servername when given', async () => {
    const b = await node('b', member('b'));
    const right = await node('right', { ...member('a'), servername: 'localhost' }, false);
    right.t.setPeerAddress('b', b.t.address!);
    await expect(right.t.call('b', 'echo', 1)).resolves.toBe(1);
    const wrong = await node('wrong', { ...member('a'), servername: 'elsewhere.example' }, false);
    wrong.t.setPeerAddress('b', b.t.address!);
    expect((await rejection(wrong.t.call('b', 'echo', 2))).code).toBe('SC_ERR_TLS');
    expect(b.served.count).toBe(1);
  });

  describe('options', () => {
    const make =
      (tls: TlsOptions, listen = true) =>
      () =>
        new HttpTransport({
          nodeId: 'x',
          secret: SECRET,
          tls,
          ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
        });
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };

    it('refuses a certificate without its key, and a key without its certificate', () => {
      const n = certs.nodes.a!;
      expect(code(make({ cert: n.cert }))).toBe('SC_ERR_BAD_CONFIG');
      expect(code(make({ key: n.key }))).toBe('SC_ERR_BAD_CONFIG');
    });

    it('refuses a key that does not match the certificate, and text that is not PEM', () => {
      expect(code(make({ cert: certs.nodes.a!.cert, key: certs.nodes.b!.key }))).toBe('SC_ERR_BAD_CONFIG');
      expect(code(make({ cert: 'not a certificate', key: 'not a key' }))).toBe('SC_ERR_BAD_CONFIG');
      expect(code(make({ ca: 'not a CA' }, false))).toBe('SC_ERR_BAD_CONFIG');
      expect(code(make({ ca: [] }, false))).toBe('SC_ERR_BAD_CONFIG');
    });

    it('refuses requireClientCert without a CA, and a listening TLS transport without a certificate', () => {
      const n = certs.nodes.a!;
      expect(code(make({ cert: n.cert, key: n.key, requireClientCert: true }))).toBe('SC_ERR_BAD_CONFIG');
      expect(code(make({ ca: certs.ca }))).toBe('SC_ERR_BAD_CONFIG');
      // Without listen, a CA alone is a valid client-only setting.
      expect(code(make({ ca: certs.ca }, false))).toBeUndefined();
    });

    it('reads PEM files, and names the file it cannot read', () => {
      const n = certs.nodes.a!;
      const read = readTlsFiles({ certFile: n.certFile, keyFile: n.keyFile, caFile: certs.caFile });
      expect(resolveTls({ ...read, requireClientCert: true }).requireClientCert).toBe(true);
      const absent = join(certs.dir, 'absent.pem');
      let error: { code?: string; message?: string; details?: unknown } = {};
      try {
        readTlsFiles({ certFile: n.certFile, keyFile: absent });
      } catch (e) {
        error = e as typeof error;
      }
      expect(error.code).toBe('SC_ERR_BAD_CONFIG');
      expect(error.message).toContain(absent);
      expect(error.details).toEqual({ option: 'key' });
      const garbage = join(certs.dir, 'garbage.pem');
      writeFileSync(garbage, 'garbage');
      expect(code(() => resolveTls(readTlsFiles({ certFile: garbage, keyFile: n.keyFile })))).toBe(
        'SC_ERR_BAD_CONFIG',
      );
    });
  });
});
