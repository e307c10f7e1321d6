/**
 * Pure operations on views used by the view-change protocol: adding and
 * removing members, the quorum rule, and the signature that tells two views
 * proposed for one epoch apart.
 */

import type { TableSpec, View } from './view.js';

/** What a node registers for a table it hosts: its spec and local shard count. */
export interface TableJoin {
  readonly spec: TableSpec;
  readonly shards: number;
}

/** Identifies one view among the views proposed for an epoch. */
export function viewSig(view: View): string {
  return `${view.epoch}|${view.members.join(',')}|${view.handoffs.at(-1) ?? ''}`;
}

/**
 * True when `voters` may decide for `members`: a strict majority, or exactly
 * half including the smallest member id (so a two-node cluster can lose one).
 */
export function isQuorum(members: readonly string[], voters: readonly string[]): boolean {
  const n = voters.filter((v) => members.includes(v)).length;
  if (n * 2 > members.length) return true;
  return n * 2 === members.length && voters.includes(members[0] as string);
}

/** `view` without the given members (and without their table hosting). */
export function without(view: View, ids: readonly string[]): View {
  const members = view.members.filter((m) => !ids.includes(m));
  const addresses: Record<string, string> = {};
  for (const m of members) addresses[m] = view.addresses[m] ?? m;
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) {
    const kept: Record<string, number> = {};
    for (const [n, c] of Object.entries(per)) if (!ids.includes(n)) kept[n] = c;
    shards[t] = kept;
  }
  return { ...view, members, addresses, shards };
}

/** `view` with a member (and the tables it hosts). */
export function withMember(view: View, id: string, address: string, tables: Record<string, TableJoin>): View {
  const members = view.members.includes(id) ? [...view.members] : [...view.members, id];
  const shards: Record<string, Record<string, number>> = {};
  for (const [t, per] of Object.entries(view.shards)) shards[t] = { ...per };
  const specs: Record<string, TableSpec> = { ...view.tables };
  for (const [name, j] of Object.entries(tables)) {
    shards[name] = { ...(shards[name] ?? {}), [id]: j.shards };
    if (specs[name] === undefined) specs[name] = j.spec;
  }
  return { ...view, members, addresses: { ...view.addresses, [id]: address }, shards, tables: specs };
}
