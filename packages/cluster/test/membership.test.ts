import { describe, expect, it } from 'vitest';
import { FailureDetector, PeerDirectory, ServingLease } from '../src/membership.js';
import { EMPTY_VIEW, type View } from '../src/view.js';

function clock(start = 1000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function view(members: string[], epoch = 3): View {
  const addresses: Record<string, string> = {};
  for (const m of members) addresses[m] = `addr-${m}`;
  return { ...EMPTY_VIEW, cluster: 'c1', epoch, members, addresses };
}

describe('FailureDetector', () => {
  it('counts a member alive until the failure timeout passes without hearing from it', () => {
    const c = clock();
    const d = new FailureDetector('a', c, 500);
    expect(d.alive('a')).toBe(true);
    expect(d.alive('b')).toBe(false);
    d.heard('b');
    c.t += 500;
    expect(d.alive('b')).toBe(true);
    c.t += 1;
    expect(d.alive('b')).toBe(false);
    expect(d.sinceSeen('b')).toBe(501);
  });

  it('smooths round trips and forgets a member that left', () => {
    const d = new FailureDetector('a', clock(), 500);
    d.roundTrip('b', 10);
    d.roundTrip('b', 20);
    expect(d.rtt('b')).toEqual({ last: 20, avg: 12 });
    d.forget('b');
    expect(d.rtt('b')).toBeUndefined();
    expect(d.alive('b')).toBe(false);
  });
});

describe('ServingLease', () => {
  it('holds while a quorum answered round trips sent within the lease, counted from the send time', () => {
    const c = clock();
    const l = new ServingLease('a', c, 300);
    const v = view(['a', 'b', 'c']);
    l.reset(v.epoch);
    expect(l.holds(v)).toBe(false);
    l.contact('b', v.epoch, c.t - 100);
    expect(l.holds(v)).toBe(true);
    c.t += 199;
    expect(l.holds(v)).toBe(true);
    // 300 ms after the ping was SENT, whenever the answer came.
    c.t += 1;
    expect(l.holds(v)).toBe(false);
  });

  it('ignores answers given under another epoch and starts over on a new view', () => {
    const c = clock();
    const l = new ServingLease('a', c, 300);
    const v = view(['a', 'b', 'c']);
    l.reset(v.epoch);
    l.contact('b', v.epoch + 1, c.t);
    expect(l.holds(v)).toBe(false);
    l.contact('b', v.epoch, c.t);
    expect(l.holds(v)).toBe(true);
    const next = view(['a', 'b', 'c'], v.epoch + 1);
    l.reset(next.epoch);
    expect(l.holds(next)).toBe(false);
    l.grant(next.members);
    expect(l.holds(next)).toBe(true);
  });

  it('a lone member always holds; a node outside its view never does', () => {
    const l = new ServingLease('a', clock(), 300);
    expect(l.holds(view(['a']))).toBe(true);
    expect(l.holds(view(['b', 'c']))).toBe(false);
  });

  it('follows the two-node rule: exactly half holds only with the smallest id', () => {
    const c = clock();
    const small = new ServingLease('a', c, 300);
    const large = new ServingLease('b', c, 300);
    const v = view(['a', 'b']);
    small.reset(v.epoch);
    large.reset(v.epoch);
    expect(small.holds(v)).toBe(true);
    expect(large.holds(v)).toBe(false);
    const four = view(['a', 'b', 'c', 'd']);
    const lc = new ServingLease('c', c, 300);
    lc.reset(four.epoch);
    lc.contact('d', four.epoch, c.t);
    expect(lc.holds(four)).toBe(false);
    lc.contact('a', four.epoch, c.t);
    expect(lc.holds(four)).toBe(true);
  });
});

describe('PeerDirectory', () => {
  it('lists static, discovered, member and remembered peers as join candidates, never itself', () => {
    const c = clock();
    const p = new PeerDirectory('a', c, [{ id: 'b', address: 'sb' }]);
    p.discovered('c', 'dc');
    p.discovered('a', 'self');
    p.remember('d', 'fd', 1000);
    const ids = p.candidates(view(['a', 'e'])).map((x) => `${x.id}@${x.address}`);
    expect(ids.sort()).toEqual(['b@sb', 'c@dc', 'd@fd', 'e@addr-e']);
  });

  it('pings outsiders only: members are excluded, remembered peers expire', () => {
    const c = clock();
    const p = new PeerDirectory('a', c, [{ id: 'b', address: 'sb' }]);
    p.remember('d', 'fd', 1000);
    expect(p.outsiders(view(['a', 'b']))).toEqual([['d', 'fd']]);
    c.t += 1001;
    expect(p.outsiders(view(['a', 'b']))).toEqual([]);
    p.remember('d', 'fd', 1000);
    p.unforget('d');
    expect(p.outsiders(view(['a']))).toEqual([['b', 'sb']]);
  });
});
