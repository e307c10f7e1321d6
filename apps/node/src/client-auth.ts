/**
 * Authentication of the JSON client API: bearer tokens checked before a
 * request body is read, read-only tokens limited to reads, and the rule
 * that an API without tokens may only listen on a loopback address.
 */

import { type ClientTokenSpec, CredentialVerifier } from '@supercache/cluster';
import { SuperCacheError } from '@supercache/storage';
import type { FastifyRequest } from 'fastify';

/** How the JSON client API authenticates. */
export interface ClientAuthOptions {
  /**
   * The cluster secret: client tokens derived from it (`clientToken(secret,
   * name)`, `scc1.…` / `scr1.…`) are accepted. Member credentials are not.
   */
  readonly secret?: string;
  /** Opaque tokens, read and write (at least 16 characters each). */
  readonly tokens?: readonly string[];
  /** Opaque tokens that may only read. */
  readonly readOnlyTokens?: readonly string[];
}

/** True for an address only this machine reaches: `127.0.0.0/8`, `::1`, `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice(7));
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Requests that only read: GETs, the POST lookups and matches, and closing one's own cursor. */
function isRead(method: string, route: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  if (method === 'POST') return route === '/v1/tuples/get' || route === '/v1/tuples/match';
  return method === 'DELETE' && route === '/v1/cursors/:id';
}

/**
 * An `onRequest` hook that checks `authorization: Bearer <token>`.
 * @throws SuperCacheError (from the hook) 401 `SC_ERR_UNAUTHORIZED` without a
 *   valid token, 403 `SC_ERR_FORBIDDEN` when a read-only token writes.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` (at once) for a token shorter
 *   than 16 characters, or options with nothing to check.
 */
export function clientAuthHook(options: ClientAuthOptions): (request: FastifyRequest) => Promise<void> {
  const clientTokens: ClientTokenSpec[] = [
    ...(options.tokens ?? []).map((token) => ({ token })),
    ...(options.readOnlyTokens ?? []).map((token) => ({ token, readOnly: true })),
  ];
  const verifier = new CredentialVerifier({
    ...(options.secret === undefined ? {} : { secret: options.secret }),
    clientTokens,
    members: false,
  });
  return async (request) => {
    const principal = verifier.verify(request.headers.authorization, undefined);
    if (principal.kind !== 'client') throw new SuperCacheError('SC_ERR_UNAUTHORIZED', 'invalid credentials');
    if (principal.readOnly && !isRead(request.method, request.routeOptions.url)) {
      throw new SuperCacheError(
        'SC_ERR_FORBIDDEN',
        `a read-only client token may not ${request.method} ${request.routeOptions.url ?? request.url}`,
      );
    }
  };
}
