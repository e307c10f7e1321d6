/**
 * TLS settings of the HTTP transport and of the node server: checking them
 * once (so a bad file or a key that does not match its certificate fails at
 * start-up with a typed error, not at the first handshake), reading them
 * from PEM files, and turning them into the options Node's `https` server
 * and undici's connector take.
 *
 * Mutual TLS: with `requireClientCert`, the server asks every connecting
 * client for a certificate and ends the handshake of any client whose
 * certificate does not chain to `ca` (or that has none). The client side
 * presents `cert`/`key` to the servers it calls and verifies their
 * certificates against `ca`, so a member with a certificate from another CA
 * can neither serve nor call.
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { SuperCacheError } from '@supercache/storage';

/** PEM text, as a string or bytes. */
export type Pem = string | Uint8Array;

/** TLS options of an {@link HttpTransport} and of the node server. */
export interface TlsOptions {
  /**
   * This node's certificate chain (PEM). The server presents it; the client
   * presents it to peers that ask for one (mutual TLS). Needs `key`.
   */
  cert?: Pem | undefined;
  /** The private key of `cert` (PEM, unencrypted). Needs `cert`. */
  key?: Pem | undefined;
  /**
   * The CA certificates (PEM) a peer's certificate must chain to, on both
   * sides. Without it the client trusts Node's built-in public CAs and the
   * server cannot require client certificates.
   */
  ca?: Pem | readonly Pem[] | undefined;
  /**
   * Mutual TLS on the server side: every connection must present a
   * certificate signed by `ca`, or its handshake is refused.
   * @defaultValue false
   */
  requireClientCert?: boolean;
  /**
   * The name the client checks the server's certificate against, instead of
   * the host of the peer's URL (for certificates issued to a DNS name while
   * peers are addressed by IP).
   */
  servername?: string | undefined;
}

/** Paths of PEM files, for {@link readTlsFiles}. */
export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** PEM as Node's TLS functions take it. */
type NodePem = string | Buffer;

/** {@link TlsOptions} after {@link resolveTls}: checked, defaults applied. */
export interface ResolvedTls {
  readonly cert: NodePem | undefined;
  readonly key: NodePem | undefined;
  readonly ca: NodePem[] | undefined;
  readonly requireClientCert: boolean;
  readonly servername: string | undefined;
}

function badConfig(message: string, option: string, cause?: unknown): SuperCacheError {
  return new SuperCacheError('SC_ERR_BAD_CONFIG', message, {
    details: { option },
    ...(cause === undefined ? {} : { cause }),
  });
}

function isPem(value: unknown): value is Pem {
  return (typeof value === 'string' && value.length > 0) || value instanceof Uint8Array;
}

function nodePem(value: Pem): NodePem {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a CA bundle must parse (Node would skip a bad one silently). */
function checkCertificates(bundle: NodePem): void {
  const blocks = String(bundle).match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw badConfig('tls.ca holds no PEM certificate', 'ca');
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (cause) {
      throw badConfig(
        `tls.ca holds a certificate that does not parse: ${(cause as Error).message}`,
        'ca',
        cause,
      );
    }
  }
}

/**
 * Reads PEM files into {@link TlsOptions} (`requireClientCert` and
 * `servername` are left to the caller).
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the file that cannot be read.
 */
export function readTlsFiles(files: TlsFiles): TlsOptions {
  const read = (option: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw badConfig(`cannot read the TLS ${option} file ${path}: ${reason}`, option, cause);
    }
  };
  const out: TlsOptions = {};
  const cert = read('cert', files.certFile);
  const key = read('key', files.keyFile);
  const ca = read('ca', files.caFile);
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (ca !== undefined) out.ca = ca;
  return out;
}

/**
 * Checks TLS options: a certificate goes with its key, mutual TLS needs a
 * CA, and the PEM texts must load (a key that does not match the
 * certificate, or a file that is not PEM, fails here).
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming the faulty option.
 */
export function resolveTls(options: TlsOptions): ResolvedTls {
  if (typeof options !== 'object' || options === null) {
    throw badConfig('tls must be an object of TLS options', 'tls');
  }
  const { cert: rawCert, key: rawKey, ca: rawCa } = options;
  if (rawCert !== undefined && !isPem(rawCert)) throw badConfig('tls.cert must be PEM text or bytes', 'cert');
  if (rawKey !== undefined && !isPem(rawKey)) throw badConfig('tls.key must be PEM text or bytes', 'key');
  if (rawCert !== undefined && rawKey === undefined) {
    throw badConfig('tls.cert is given without tls.key', 'key');
  }
  if (rawKey !== undefined && rawCert === undefined) {
    throw badConfig('tls.key is given without tls.cert', 'cert');
  }
  let ca: NodePem[] | undefined;
  if (rawCa !== undefined) {
    const list: readonly unknown[] = Array.isArray(rawCa) ? rawCa : [rawCa];
    if (list.length === 0 || !list.every(isPem)) {
      throw badConfig('tls.ca must be PEM text or bytes, or a non-empty list of them', 'ca');
    }
    ca = (list as Pem[]).map(nodePem);
    for (const entry of ca) checkCertificates(entry);
  }
  const cert = rawCert === undefined ? undefined : nodePem(rawCert);
  const key = rawKey === undefined ? undefined : nodePem(rawKey);
  const requireClientCert = options.requireClientCert ?? false;
  if (typeof requireClientCert !== 'boolean') {
    throw badConfig('tls.requireClientCert must be a boolean', 'requireClientCert');
  }
  if (requireClientCert && ca === undefined) {
    throw badConfig('tls.requireClientCert needs tls.ca, the CA that signs the clients', 'ca');
  }
  const servername = options.servername;
  if (servername !== undefined && (typeof servername !== 'string' || servername.length === 0)) {
    throw badConfig('tls.servername must be a non-empty string', 'servername');
  }
  // Loading a secure context parses every PEM and checks that the key
  // matches the certificate; doing it now turns a bad file into a start-up
  // error instead of a failure at every handshake.
  const context: SecureContextOptions = {};
  if (cert !== undefined) context.cert = cert;
  if (key !== undefined) context.key = key;
  if (ca !== undefined) context.ca = ca;
  try {
    createSecureContext(context);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw badConfig(`the TLS certificate, key or CA cannot be loaded: ${reason}`, 'tls', cause);
  }
  return Object.freeze({ cert, key, ca, requireClientCert, servername });
}

/**
 * Options for `https.createServer` (certificate, key, CA and client
 * verification); the caller adds its timeouts.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` without a certificate.
 */
export function tlsServerOptions(tls: ResolvedTls): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  if (tls.cert === undefined || tls.key === undefined) {
    throw badConfig('a TLS server needs tls.cert and tls.key', 'cert');
  }
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    requestCert: tls.requireClientCert,
    rejectUnauthorized: tls.requireClientCert,
  };
}

/** Options for undici's `connect` (a `Pool`'s or an `Agent`'s): always verifying the server. */
export function tlsConnectOptions(tls: ResolvedTls): {
  ca?: NodePem[];
  cert?: NodePem;
  key?: NodePem;
  servername?: string;
  rejectUnauthorized: true;
} {
  return {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: true,
  };
}

/**
 * Error codes of a failed TLS handshake or certificate check, as Node and
 * OpenSSL report them (the client's own check, or the server's alert).
 */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|UNABLE_TO_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

/** True when `code` names a TLS failure (a certificate refused by either side, a protocol mismatch). */
export function isTlsErrorCode(code: string | undefined): boolean {
  return code !== undefined && TLS_CODE.test(code);
}
