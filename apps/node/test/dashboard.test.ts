/**
 * The dashboard's server side without a browser: the page and its headers,
 * the state it polls, the traffic series and the handoff tracker.
 */

import { SuperCache } from '@supercache/core';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DashboardState } from '../src/dashboard.js';
import { HandoffTracker } from '../src/dashboard-handoffs.js';
import { OpsSeries, SERIES_SECONDS } from '../src/dashboard-series.js';
import { createNodeServer } from '../src/server.js';

describe('/dashboard (local mode)', () => {
  let cache: SuperCache;
  let app: FastifyInstance;

  beforeEach(async () => {
    cache = await SuperCache.start({ numPartition: 4, nodeId: 'n1' });
    app = await createNodeServer({ cache, logLevel: 'silent' });
  });

  afterEach(async () => {
    await app.close();
    await cache.stop();
  });

  it('serves the page with a policy that allows only its own script and style', async () => {
    const page = await app.inject({ method: 'GET', url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.body).toContain('<script src="/dashboard/app.js"');
    const js = await app.inject({ method: 'GET', url: '/dashboard/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toContain('/dashboard/state');
    const css = await app.inject({ method: 'GET', url: '/dashboard/app.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers the state: one member owning every partition, and a minute of traffic points', async () => {
    for (let i = 0; i < 3; i++) {
      await app.inject({ method: 'PUT', url: '/v1/tuples', payload: { tuple: [`k${i}`, i] } });
    }
    const r = await app.inject({ method: 'GET', url: '/dashboard/state' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const s = JSON.parse(r.body) as DashboardState;
    expect(s.node).toBe('n1');
    expect(s.members.map((m) => [m.id, m.primaries, m.leader])).toEqual([['n1', 4, true]]);
    expect(s.tables[0]?.partitions).toEqual([['n1'], ['n1'], ['n1'], ['n1']]);
    // A minute of complete seconds (the writes above count once their second is over).
    expect(s.series).toHaveLength(60);
  });
});

describe('OpsSeries', () => {
  it('counts requests, 5xx answers and latency per complete second, zero where nothing ran', () => {
    let now = 1_000_000;
    const series = new OpsSeries({ now: () => now, random: () => 0.5 });
    series.observe(2, false);
    series.observe(4, true);
    now += 2000;
    series.observe(10, false);
    now += 1000;
    const points = series.points(3);
    expect(points.map((p) => p.t)).toEqual([1_000_000, 1_001_000, 1_002_000]);
    expect(points[0]).toEqual({ t: 1_000_000, ops: 2, errors: 1, meanMs: 3, p99Ms: 4 });
    expect(points[1]).toEqual({ t: 1_001_000, ops: 0, errors: 0, meanMs: 0, p99Ms: 0 });
    expect(points[2]).toMatchObject({ ops: 1, errors: 0, meanMs: 10, p99Ms: 10 });
  });

  it('forgets seconds older than its window', () => {
    let now = 0;
    const series = new OpsSeries({ now: () => now });
    series.observe(1, false);
    now += (SERIES_SECONDS + 5) * 1000;
    series.observe(1, false);
    now += 1000;
    const points = series.points(SERIES_SECONDS);
    expect(points.reduce((n, p) => n + p.ops, 0)).toBe(1);
  });
});

describe('HandoffTracker', () => {
  const event = (
    phase: 'start' | 'snapshot' | 'switch' | 'committed',
    role: 'source' | 'leader' = 'source',
  ) => ({
    handoff: 'h1',
    role,
    phase,
    peer: 'b',
    entries: phase === 'start' ? 0 : 10,
    bytes: 100,
    durationMs: 5,
  });

  it('follows a handoff through its phases, never moving its progress back', () => {
    const t = new HandoffTracker({ now: () => 0 });
    t.observe(event('start'));
    const first = t.active()[0]?.progress ?? 0;
    t.observe(event('switch'));
    const later = t.active()[0]?.progress ?? 0;
    t.observe(event('snapshot'));
    expect(t.active()).toHaveLength(1);
    expect(later).toBeGreaterThan(first);
    expect(t.active()[0]?.progress).toBe(later);
    expect(t.active()[0]).toMatchObject({
      id: 'h1',
      role: 'source',
      phase: 'snapshot',
      entries: 10,
      peer: 'b',
    });
  });

  it('ends a handoff on its commit, whether it hears the leader or sees the view', () => {
    const t = new HandoffTracker({ now: () => 0 });
    t.observe(event('snapshot'));
    t.observe(event('committed', 'leader'));
    expect(t.active()).toEqual([]);
    t.observe(event('snapshot'));
    t.committed(['h0', 'h1']);
    expect(t.active()).toEqual([]);
  });

  it('drops a handoff not heard of for a minute', () => {
    let now = 0;
    const t = new HandoffTracker({ now: () => now });
    t.observe(event('snapshot'));
    now += 61_000;
    expect(t.active()).toEqual([]);
  });
});
