/**
 * Membership bookkeeping: which peers this node knows (static, discovered,
 * recently removed), when it last heard from each member, heartbeat round
 * trips, and the serving lease (a quorum of the view answered recently).
 */

import type { Clock } from '@supercache/storage';
import type { PeerInfo } from './node-options.js';
import type { View } from './view.js';
import { isQuorum } from './view-ops.js';

/** Liveness of members from the last time each was heard from. */
export class FailureDetector {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #self: string;
  readonly #lastSeen = new Map<string, number>();
  readonly #rtt = new Map<string, { last: number; avg: number }>();

  constructor(self: string, clock: Clock, timeoutMs: number) {
    this.#self = self;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** True when `m` is this node or was heard from within the failure timeout. */
  alive(m: string): boolean {
    if (m === this.#self) return true;
    const seen = this.#lastSeen.get(m);
    return seen !== undefined && this.#clock.now() - seen <= this.#timeoutMs;
  }

  /** Records that `m` was heard from now. */
  heard(m: string): void {
    this.#lastSeen.set(m, this.#clock.now());
  }

  /** Records a heartbeat round trip of `ms` to `m` (and that it was heard from). */
  roundTrip(m: string, ms: number): void {
    this.heard(m);
    const prev = this.#rtt.get(m);
    this.#rtt.set(m, { last: ms, avg: prev === undefined ? ms : prev.avg * 0.8 + ms * 0.2 });
  }

  /** Forgets a member that left the view. */
  forget(m: string): void {
    this.#lastSeen.delete(m);
    this.#rtt.delete(m);
  }

  /** Forgets everyone (a node leaving its cluster for another). */
  clear(): void {
    this.#lastSeen.clear();
    this.#rtt.clear();
  }

  /** Ms since `m` was last heard from, or undefined if never. */
  sinceSeen(m: string): number | undefined {
    const seen = this.#lastSeen.get(m);
    return seen === undefined ? undefined : this.#clock.now() - seen;
  }

  /** The last and smoothed heartbeat round trips to `m`, if any. */
  rtt(m: string): { last: number; avg: number } | undefined {
    return this.#rtt.get(m);
  }
}

/**
 * The serving lease. A node may serve (as primary or replica) only while a
 * quorum of its view answered a heartbeat that was **sent** less than
 * `leaseMs` ago, in the same view. Counting from the send time, not the
 * answer, means a node frozen for longer than the lease (a GC pause, a
 * stopped VM) finds its lease expired the moment it wakes, before it reads
 * a single queued request; and because `leaseMs` is shorter than the failure
 * timeout, it stops serving before the others can remove it.
 */
export class ServingLease {
  readonly #self: string;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #contact = new Map<string, number>();
  #epoch = -1;

  constructor(self: string, clock: Clock, leaseMs: number) {
    this.#self = self;
    this.#clock = clock;
    this.#leaseMs = leaseMs;
  }

  /** Records that `member` answered, at `epoch`, a round trip sent at `sentAt`. */
  contact(member: string, epoch: number, sentAt: number): void {
    if (epoch !== this.#epoch) return;
    const prev = this.#contact.get(member);
    if (prev === undefined || sentAt > prev) this.#contact.set(member, sentAt);
  }

  /** Starts over for a new view: contacts made under another epoch do not count. */
  reset(epoch: number): void {
    if (epoch === this.#epoch) return;
    this.#epoch = epoch;
    this.#contact.clear();
  }

  /** Grants a lease for the current view at once (a node that formed or was just committed in it). */
  grant(members: readonly string[]): void {
    const now = this.#clock.now();
    for (const m of members) this.#contact.set(m, now);
  }

  /** True when a quorum of `view` answered within the lease. */
  holds(view: View): boolean {
    const members = view.members;
    if (!members.includes(this.#self)) return false;
    if (members.length === 1) return true;
    const now = this.#clock.now();
    const fresh = [this.#self];
    for (const m of members) {
      if (m === this.#self) continue;
      const at = this.#contact.get(m);
      if (at !== undefined && now - at < this.#leaseMs) fresh.push(m);
    }
    return isQuorum(members, fresh);
  }
}

/** The peers a node knows beyond its view: static, discovered, and recently removed members. */
export class PeerDirectory {
  readonly #self: string;
  readonly #clock: Clock;
  readonly #static: readonly PeerInfo[];
  readonly #discovered = new Map<string, string>();
  /** Members removed from the view, still pinged for a while so a split heals. */
  readonly #former = new Map<string, { address: string; until: number }>();

  constructor(self: string, clock: Clock, peers: readonly PeerInfo[]) {
    this.#self = self;
    this.#clock = clock;
    this.#static = peers;
  }

  /** The static peers. */
  get staticPeers(): readonly PeerInfo[] {
    return this.#static;
  }

  /** Records a discovered peer. */
  discovered(id: string, address: string): void {
    if (id !== this.#self) this.#discovered.set(id, address);
  }

  /** Remembers a removed member for `forMs`. */
  remember(id: string, address: string, forMs: number): void {
    if (id !== this.#self) this.#former.set(id, { address, until: this.#clock.now() + forMs });
  }

  /** Stops remembering a member that is back in the view. */
  unforget(id: string): void {
    this.#former.delete(id);
  }

  /** Every peer worth asking to join through: static, discovered, members and recently removed. */
  candidates(view: View): PeerInfo[] {
    const out = new Map<string, string>();
    for (const p of this.#static) out.set(p.id, p.address);
    for (const [id, addr] of this.#discovered) out.set(id, addr);
    for (const m of view.members) out.set(m, view.addresses[m] ?? m);
    for (const [id, f] of this.#former) if (!out.has(id)) out.set(id, f.address);
    out.delete(this.#self);
    return [...out].map(([id, address]) => ({ id, address }));
  }

  /** Peers outside the view worth pinging: static, discovered and recently removed ones. */
  outsiders(view: View): Array<[string, string]> {
    const now = this.#clock.now();
    const out = new Map<string, string>();
    for (const p of this.#static) out.set(p.id, p.address);
    for (const [id, a] of this.#discovered) out.set(id, a);
    for (const [id, f] of this.#former) {
      if (f.until < now) this.#former.delete(id);
      else out.set(id, f.address);
    }
    out.delete(this.#self);
    for (const m of view.members) out.delete(m);
    return [...out];
  }
}
