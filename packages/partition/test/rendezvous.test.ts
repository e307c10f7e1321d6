import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeAssignment, diffAssignments, hashTerm, owners, rankNodes, score } from '../src/index.js';
import { expectCode } from './support/errors.js';
import { le32, referenceMurmur3 } from './support/reference.js';
import { bump, looksUniform } from './support/stats.js';

const SEED = 0x4e57;
const nodesOf = (n: number, prefix = 'node-'): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

// Two ids whose hashTerm collides (found by search), so their scores tie on
// every partition: the tie-break is observable.
const TWIN_A = 'node-2563';
const TWIN_B = 'node-97049';

const nodeIdArb = fc.string({ minLength: 1, maxLength: 12 });
const nodeSetArb = fc.uniqueArray(nodeIdArb, { minLength: 1, maxLength: 12 });

describe('score', () => {
  it.each([
    ['node-a', 0, 0x7a4e532b],
    ['node-a', 1, 0x8a5aa182],
    ['node-b', 0, 0x86778754],
    ['10.0.0.1:7000', 63, 0xd3854564],
    ['node-a', 2 ** 32 - 1, 0x1c5a3eaa],
  ])('scores (%s, %i) with its pinned value', (node, p, expected) => {
    expect(score(node, p)).toBe(expected);
  });

  it('is MurmurHash3 of le32(hashTerm(nodeId)) ‖ le32(partition), checked by an independent implementation', () => {
    fc.assert(
      fc.property(nodeIdArb, fc.nat({ max: 0xffffffff }), (node, p) => {
        expect(score(node, p)).toBe(referenceMurmur3(le32(hashTerm(node), p), 0));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it.each([
    ['an empty node id', '', 0],
    ['a non-string node id', 7, 0],
    ['a negative partition', 'n', -1],
    ['a fractional partition', 'n', 0.5],
    ['partition 2^32', 'n', 2 ** 32],
  ])('rejects %s with SC_ERR_BAD_ARG', (_name, node, p) => {
    expectCode(() => score(node as string, p), 'SC_ERR_BAD_ARG');
  });
});

describe('rankNodes', () => {
  it('ranks by score, highest first', () => {
    const nodes = nodesOf(8);
    const ranked = rankNodes(5, nodes);
    const scores = ranked.map((n) => score(n, 5));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect([...ranked].sort()).toEqual([...nodes].sort());
  });

  it('does not depend on the order the nodes are given in', () => {
    fc.assert(
      fc.property(nodeSetArb, fc.nat({ max: 4096 }), fc.infiniteStream(fc.nat()), (nodes, p, rnd) => {
        const shuffled = [...nodes];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (rnd.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
        }
        expect(rankNodes(p, shuffled)).toEqual(rankNodes(p, nodes));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('keeps the relative order of the other nodes when one is added (the HRW property)', () => {
    fc.assert(
      fc.property(nodeSetArb, nodeIdArb, fc.nat({ max: 4096 }), (nodes, extra, p) => {
        fc.pre(!nodes.includes(extra));
        const after = rankNodes(p, [...nodes, extra]);
        expect(after.filter((n) => n !== extra)).toEqual(rankNodes(p, nodes));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('breaks a score tie by ascending node id', () => {
    expect(hashTerm(TWIN_A)).toBe(hashTerm(TWIN_B));
    for (const p of [0, 1, 99]) {
      expect(score(TWIN_A, p)).toBe(score(TWIN_B, p));
      const ranked = rankNodes(p, [TWIN_B, TWIN_A]);
      expect(ranked).toEqual([TWIN_A, TWIN_B]); // 'node-2563' < 'node-97049'
      expect(owners(p, [TWIN_B, TWIN_A], 1)).toEqual([TWIN_A]);
      expect(owners(p, [TWIN_B, 'x', TWIN_A], 2)).toEqual(rankNodes(p, [TWIN_B, 'x', TWIN_A]).slice(0, 2));
    }
  });

  it('returns an empty ranking for no nodes', () => {
    expect(rankNodes(0, [])).toEqual([]);
  });

  it('rejects duplicate node ids with SC_ERR_BAD_ARG, for small and large lists', () => {
    expectCode(() => rankNodes(0, ['a', 'b', 'a']), 'SC_ERR_BAD_ARG');
    expectCode(() => rankNodes(0, [...nodesOf(40), 'node-3']), 'SC_ERR_BAD_ARG');
  });

  it('rejects a node list that is not an array of non-empty strings with SC_ERR_BAD_ARG', () => {
    expectCode(() => rankNodes(0, 'abc' as unknown as string[]), 'SC_ERR_BAD_ARG');
    expectCode(() => rankNodes(0, ['a', '']), 'SC_ERR_BAD_ARG');
    expectCode(() => rankNodes(0, ['a', null as unknown as string]), 'SC_ERR_BAD_ARG');
  });
});

describe('owners', () => {
  it('is the first min(rf, nodes) entries of the ranking, primary first', () => {
    fc.assert(
      fc.property(nodeSetArb, fc.nat({ max: 4096 }), fc.integer({ min: 1, max: 15 }), (nodes, p, rf) => {
        const got = owners(p, nodes, rf);
        expect(got).toEqual(rankNodes(p, nodes).slice(0, rf));
        expect(got).toHaveLength(Math.min(rf, nodes.length));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('defaults to one owner', () => {
    expect(owners(3, nodesOf(5))).toEqual(rankNodes(3, nodesOf(5)).slice(0, 1));
  });

  it('has no owners without nodes', () => {
    expect(owners(0, [], 3)).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects replication factor %s with SC_ERR_BAD_ARG', (rf) => {
    expectCode(() => owners(0, ['a'], rf), 'SC_ERR_BAD_ARG');
  });

  it('spreads primaries evenly over the nodes (chi-square, p = 0.001)', () => {
    for (let n = 3; n <= 10; n++) {
      const map = computeAssignment(4096, nodesOf(n, '10.0.0.'), 1);
      const counts = new Float64Array(n);
      const index = new Map(map.nodes.map((id, i) => [id, i]));
      for (const o of map.owners) bump(counts, index.get(o[0] as string) as number);
      const r = looksUniform(counts);
      expect(r.ok, `${n} nodes: chi-square ${r.statistic.toFixed(1)} > ${r.critical.toFixed(1)}`).toBe(true);
    }
  });

  it('spreads every replica rank evenly over the nodes (chi-square, p = 0.001)', () => {
    const n = 7;
    const map = computeAssignment(4096, nodesOf(n, 'cache-'), 3);
    const index = new Map(map.nodes.map((id, i) => [id, i]));
    for (let rank = 0; rank < 3; rank++) {
      const counts = new Float64Array(n);
      for (const o of map.owners) bump(counts, index.get(o[rank] as string) as number);
      const r = looksUniform(counts);
      expect(r.ok, `rank ${rank}: chi-square ${r.statistic.toFixed(1)} > ${r.critical.toFixed(1)}`).toBe(
        true,
      );
    }
  });
});

describe('membership changes', () => {
  const P = 1024;

  for (let n = 3; n <= 10; n++) {
    it(`moves about 1/${n + 1} of the primaries, all to the new node, when a node joins ${n} nodes`, () => {
      const nodes = nodesOf(n);
      const joined = `node-${n}`;
      const changes = diffAssignments(
        computeAssignment(P, nodes, 1),
        computeAssignment(P, [...nodes, joined], 1),
      );
      for (const c of changes) {
        expect(c.after).toEqual([joined]);
        expect(c.lost).toEqual(c.before);
      }
      const fraction = changes.length / P;
      expect(fraction).toBeLessThanOrEqual(1.5 / (n + 1));
      expect(fraction).toBeGreaterThanOrEqual(0.5 / (n + 1));
    });

    it(`moves only the leaving node's primaries, about 1/${n}, when one of ${n} nodes leaves`, () => {
      const nodes = nodesOf(n);
      const leaving = nodes[n >> 1] as string;
      const before = computeAssignment(P, nodes, 1);
      const after = computeAssignment(
        P,
        nodes.filter((x) => x !== leaving),
        1,
      );
      const changes = diffAssignments(before, after);
      for (const c of changes) expect(c.before).toEqual([leaving]);
      expect(changes.length).toBe(before.owners.filter((o) => o[0] === leaving).length);
      const fraction = changes.length / P;
      expect(fraction).toBeLessThanOrEqual(1.5 / n);
      expect(fraction).toBeGreaterThanOrEqual(0.5 / n);
    });

    it(`with 3 owners, changes only owner sets the joining node enters (${n} nodes)`, () => {
      const rf = 3;
      const nodes = nodesOf(n, 'host-');
      const joined = 'host-new';
      const before = computeAssignment(P, nodes, rf);
      const after = computeAssignment(P, [...nodes, joined], rf);
      const changes = diffAssignments(before, after);
      for (const c of changes) {
        expect(c.gained).toEqual([joined]);
        expect(c.lost.length).toBeLessThanOrEqual(1);
        // The others keep their relative order: the new node is inserted, the last one drops.
        expect(c.after.filter((x) => x !== joined)).toEqual(c.before.slice(0, c.after.length - 1));
      }
      for (let p = 0; p < P; p++) {
        if (!(after.owners[p] as readonly string[]).includes(joined))
          expect(after.owners[p]).toEqual(before.owners[p]);
      }
      expect(changes.length / P).toBeLessThanOrEqual((1.5 * rf) / (n + 1));
    });
  }

  it('with 3 owners, re-replicates only the partitions the leaving node held', () => {
    const nodes = nodesOf(8);
    const leaving = 'node-5';
    const before = computeAssignment(P, nodes, 3);
    const after = computeAssignment(
      P,
      nodes.filter((x) => x !== leaving),
      3,
    );
    const changes = diffAssignments(before, after);
    expect(changes.length).toBe(before.owners.filter((o) => o.includes(leaving)).length);
    for (const c of changes) {
      expect(c.lost).toEqual([leaving]);
      expect(c.gained).toHaveLength(1);
      expect(c.primaryChanged).toBe(c.before[0] === leaving);
    }
  });
});
