/**
 * Certificates for the TLS tests, made on the spot with the `openssl` CLI
 * in a temporary directory: a cluster CA with node certificates, and a
 * rogue CA with one certificate of its own. Every node certificate is valid
 * for IP 127.0.0.1 and DNS localhost, for server and client use (a member
 * is both). Keys are P-256, so making them is quick.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One certificate and its key: PEM text and the files holding them. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** What {@link makeTestCertificates} made. */
export interface TestCertificates {
  readonly dir: string;
  /** The cluster CA's certificate. */
  readonly ca: string;
  readonly caFile: string;
  /** Node certificates signed by the cluster CA, by name. */
  readonly nodes: Readonly<Record<string, TestCert>>;
  /** The rogue CA's certificate. */
  readonly rogueCa: string;
  readonly rogueCaFile: string;
  /** A certificate valid in every way except that the rogue CA signed it. */
  readonly rogue: TestCert;
  /** Deletes the directory. */
  remove(): void;
}

/** Why the TLS tests cannot run here (no `openssl`), or undefined when they can. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `the openssl CLI is not available (${(e as Error).message}); install it (apt-get install openssl)`;
  }
}

const CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[node]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
`;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, config: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-config',
    config,
    '-extensions',
    'ca',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

function makeCert(dir: string, config: string, ca: string, name: string): TestCert {
  openssl(dir, [
    'req',
    '-new',
    '-config',
    config,
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '2',
    '-extfile',
    config,
    '-extensions',
    'node',
    '-out',
    `${name}.crt`,
  ]);
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return {
    cert: readFileSync(certFile, 'utf8'),
    key: readFileSync(keyFile, 'utf8'),
    certFile,
    keyFile,
  };
}

/**
 * Makes a CA, a certificate per name in `nodes` signed by it, and a rogue
 * CA with a certificate `rogue`, in a new temporary directory.
 * @throws Error when `openssl` fails (check {@link opensslMissing} first).
 */
export function makeTestCertificates(nodes: readonly string[] = ['a', 'b', 'c']): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'supercache-tls-'));
  try {
    const config = join(dir, 'openssl.cnf');
    writeFileSync(config, CONFIG);
    makeCa(dir, config, 'cluster-ca');
    makeCa(dir, config, 'rogue-ca');
    const made: Record<string, TestCert> = {};
    for (const name of nodes) made[name] = makeCert(dir, config, 'cluster-ca', `node-${name}`);
    const rogue = makeCert(dir, config, 'rogue-ca', 'rogue');
    const caFile = join(dir, 'cluster-ca.crt');
    const rogueCaFile = join(dir, 'rogue-ca.crt');
    return {
      dir,
      ca: readFileSync(caFile, 'utf8'),
      caFile,
      nodes: made,
      rogueCa: readFileSync(rogueCaFile, 'utf8'),
      rogueCaFile,
      rogue,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
