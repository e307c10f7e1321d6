/**
 * The two kinds of credential of the peer protocol, and what each may call.
 *
 * - A **member** (a node) sends `authorization: Bearer scm1.<mac>` with its
 *   id in `x-supercache-node`, where `<mac>` is HMAC-SHA256(secret,
 *   `"member:" + nodeId`) in hex. The receiver recomputes the key from the
 *   header's id: the sender's identity is the id the key was made for, never
 *   the envelope's `from`.
 * - A **client** (an application routing through the peer protocol, or a
 *   JSON API caller) sends a client token: `scc1.<name>.<mac>` (read and
 *   write) or `scr1.<name>.<mac>` (read-only), `<mac>` being HMAC-SHA256(secret,
 *   `"client:" + name` / `"client-ro:" + name`), made with
 *   {@link clientToken}; or an opaque token configured on the server
 *   (`clientTokens`). A client may call the data-plane methods of
 *   {@link CLIENT_METHODS} only, and a read-only one only commands that do
 *   not write.
 *
 * Every comparison is constant-time over equal-length digests.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SuperCacheError } from '@supercache/storage';

/** Who a request was authenticated as. */
export type Principal =
  | { readonly kind: 'member'; readonly nodeId: string }
  | { readonly kind: 'client'; readonly name: string; readonly readOnly: boolean };

/** A client token configured on a server (an opaque string, at least 16 characters). */
export interface ClientTokenSpec {
  readonly token: string;
  /** Only commands that do not write. @defaultValue false */
  readonly readOnly?: boolean;
  /** A name for logs and cursors. @defaultValue `token-<8 hex of its SHA-256>` */
  readonly name?: string;
}

/**
 * The peer methods a client may call: routed commands, fan-outs, cursors,
 * the view (to route by) and replica reads. Membership, views, handoff,
 * replication and heartbeat methods are for members only.
 */
export const CLIENT_METHODS: ReadonlySet<string> = new Set([
  'sc.exec',
  'sc.node',
  'sc.cursorOpen',
  'sc.cursorNext',
  'sc.cursorClose',
  'sc.readCopy',
  'sc.view',
]);

const MEMBER_PREFIX = 'scm1.';
const CLIENT_PREFIX = 'scc1.';
const READ_ONLY_PREFIX = 'scr1.';
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Shortest configured client token: guessing one must be hopeless. */
export const MIN_CLIENT_TOKEN_LENGTH = 16;

function mac(secret: string, label: string): string {
  return createHmac('sha256', secret).update(label).digest('hex');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'credentials need a non-empty cluster secret');
  }
}

/**
 * The credential member `nodeId` sends (`scm1.<hex>`), derived from the
 * cluster secret.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an empty secret or node id.
 */
export function memberCredential(secret: string, nodeId: string): string {
  checkSecret(secret);
  if (typeof nodeId !== 'string' || nodeId.length === 0) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'a member credential needs a node id');
  }
  return `${MEMBER_PREFIX}${mac(secret, `member:${nodeId}`)}`;
}

/**
 * A client token for `name`, derived from the cluster secret: every node
 * accepts it without configuration. Hand it to an application instead of
 * the secret; it cannot call member methods, and with `readOnly` it cannot
 * write.
 *
 * @example
 * ```ts
 * const token = clientToken(secret, 'billing', { readOnly: true }); // 'scr1.billing.…'
 * ```
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an empty secret, or a name
 *   that is not 1-64 characters of `A-Z a-z 0-9 _ -`.
 */
export function clientToken(secret: string, name: string, options: { readOnly?: boolean } = {}): string {
  checkSecret(secret);
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'a client name is 1-64 characters of A-Z a-z 0-9 _ -');
  }
  return options.readOnly === true
    ? `${READ_ONLY_PREFIX}${name}.${mac(secret, `client-ro:${name}`)}`
    : `${CLIENT_PREFIX}${name}.${mac(secret, `client:${name}`)}`;
}

function unauthorized(message: string): SuperCacheError {
  return new SuperCacheError('SC_ERR_UNAUTHORIZED', message);
}

function equalDigests(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Options of a {@link CredentialVerifier}. */
export interface CredentialVerifierOptions {
  /** The cluster secret: member keys and derived client tokens are checked with it. */
  readonly secret?: string;
  /** Opaque client tokens accepted besides the derived ones. */
  readonly clientTokens?: readonly ClientTokenSpec[];
  /** Accept member credentials. @defaultValue true */
  readonly members?: boolean;
}

/**
 * Checks an `authorization` header and names who sent it.
 *
 * @example
 * ```ts
 * const verifier = new CredentialVerifier({ secret });
 * verifier.verify(`Bearer ${memberCredential(secret, 'a')}`, 'a'); // { kind: 'member', nodeId: 'a' }
 * ```
 */
export class CredentialVerifier {
  readonly #secret: string | undefined;
  readonly #members: boolean;
  readonly #tokens: ReadonlyArray<{ digest: Buffer; name: string; readOnly: boolean }>;

  /**
   * @throws SuperCacheError `SC_ERR_BAD_CONFIG` on an empty secret, a
   *   configured token shorter than {@link MIN_CLIENT_TOKEN_LENGTH}, or a
   *   verifier with nothing to check.
   */
  constructor(options: CredentialVerifierOptions) {
    if (options.secret !== undefined) checkSecret(options.secret);
    this.#secret = options.secret;
    this.#members = options.members ?? true;
    this.#tokens = (options.clientTokens ?? []).map((spec) => {
      if (typeof spec?.token !== 'string' || spec.token.length < MIN_CLIENT_TOKEN_LENGTH) {
        throw new SuperCacheError(
          'SC_ERR_BAD_CONFIG',
          `a client token must be a string of at least ${MIN_CLIENT_TOKEN_LENGTH} characters`,
        );
      }
      const d = digest(spec.token);
      return {
        digest: d,
        name: spec.name ?? `token-${d.toString('hex').slice(0, 8)}`,
        readOnly: spec.readOnly === true,
      };
    });
    if (this.#secret === undefined && this.#tokens.length === 0) {
      throw new SuperCacheError('SC_ERR_BAD_CONFIG', 'a credential verifier needs a secret or client tokens');
    }
  }

  /** True when any client token (derived or configured) can be accepted. */
  get acceptsClients(): boolean {
    return this.#secret !== undefined || this.#tokens.length > 0;
  }

  /**
   * The principal of a request.
   * @param header the `authorization` header (`Bearer <credential>`).
   * @param nodeHeader the `x-supercache-node` header: the id a member key
   *   is checked against.
   * @throws SuperCacheError `SC_ERR_UNAUTHORIZED` when the credential is
   *   missing, malformed or wrong.
   */
  verify(header: unknown, nodeHeader: unknown): Principal {
    if (typeof header !== 'string' || header.length === 0) throw unauthorized('missing credentials');
    if (!header.startsWith('Bearer ') || header.length > 4096) throw unauthorized('invalid credentials');
    const credential = header.slice(7);
    const secret = this.#secret;
    if (credential.startsWith(MEMBER_PREFIX) && secret !== undefined && this.#members) {
      if (typeof nodeHeader !== 'string' || nodeHeader.length === 0 || nodeHeader.length > 256) {
        throw unauthorized('a member credential needs the x-supercache-node header');
      }
      if (!equalDigests(credential, memberCredential(secret, nodeHeader))) {
        throw unauthorized('invalid member credentials');
      }
      return { kind: 'member', nodeId: nodeHeader };
    }
    const readOnly = credential.startsWith(READ_ONLY_PREFIX);
    if ((readOnly || credential.startsWith(CLIENT_PREFIX)) && secret !== undefined) {
      const rest = credential.slice(5);
      const dot = rest.indexOf('.');
      const name = dot < 0 ? '' : rest.slice(0, dot);
      if (NAME_RE.test(name) && equalDigests(credential, clientToken(secret, name, { readOnly }))) {
        return { kind: 'client', name, readOnly };
      }
    }
    // Every configured token is compared, so the time does not tell which matched.
    const d = digest(credential);
    let found: { name: string; readOnly: boolean } | undefined;
    for (const t of this.#tokens) if (timingSafeEqual(d, t.digest) && found === undefined) found = t;
    if (found !== undefined) return { kind: 'client', name: found.name, readOnly: found.readOnly };
    throw unauthorized('invalid credentials');
  }
}

/** The sender id a client's calls run under: never a member's id (`client/<name>`). */
export function clientCaller(principal: Principal & { kind: 'client' }): string {
  return `client/${principal.name}`;
}

/**
 * Checks that `principal` may call `method`.
 * @throws SuperCacheError `SC_ERR_FORBIDDEN` for a client calling a member method.
 */
export function authorizeMethod(principal: Principal, method: string): void {
  if (principal.kind === 'member') return;
  if (!CLIENT_METHODS.has(method)) {
    throw new SuperCacheError(
      'SC_ERR_FORBIDDEN',
      `client ${principal.name} may not call ${method}: it is a member method`,
      { details: { method } },
    );
  }
}
