/**
 * `supercache-node status` as an operator runs it: the CLI from source,
 * against three real node processes.
 */

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceCliCommand } from '../src/node-process.js';
import { fetchStatus, formatStatus } from '../src/status.js';
import { ProcessCluster, ROOT } from './process-cluster.js';

const PARTITIONS = 16;

/** Runs the CLI with `args`; resolves with its exit code and output. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cmd = sourceCliCommand(ROOT);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cmd.args, ...args], {
      cwd: cmd.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('supercache-node status', () => {
  const c = new ProcessCluster(PARTITIONS, { extraArgs: ['--replication-factor', '2'] });

  beforeAll(async () => {
    await c.start('a');
    await c.start('b');
    await c.start('c');
  }, 120_000);

  afterAll(() => c.close());

  it('prints every member, the epoch, and partitions per node that add up to the partition count', async () => {
    const health = await c.client('b').health();
    const { code, stdout, stderr } = await cli(['status', '--peer', c.node('b').url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`epoch ${health.epoch}`);
    expect(stdout).toContain('3 members');
    const members = stdout.slice(stdout.indexOf('MEMBERS'), stdout.indexOf('PARTITIONS OWNED'));
    for (const id of ['a', 'b', 'c']) {
      expect(members).toMatch(new RegExp(`^  ${id}( \\*)? +http://127\\.0\\.0\\.1:\\d+ +alive`, 'm'));
    }
    const main = /^ {2}supercache\.main \(partitions\): (.*) = (\d+)$/m.exec(stdout);
    expect(main).not.toBeNull();
    const owned = (main?.[1] ?? '').split(' · ').map((part) => part.split(' '));
    expect(owned.map(([id]) => id).sort()).toEqual(['a', 'b', 'c']);
    expect(owned.reduce((n, [, count]) => n + Number(count), 0)).toBe(PARTITIONS);
    expect(Number(main?.[2])).toBe(PARTITIONS);
    // Primaries and backups per member add up too (factor 2: one backup per partition).
    const rows = [...members.matchAll(/^ {2}[abc]( \*)? +\S+ +alive +\S+ ms +(\d+) +(\d+)$/gm)];
    expect(rows).toHaveLength(3);
    expect(rows.reduce((n, r) => n + Number(r[2]), 0)).toBe(PARTITIONS);
    expect(rows.reduce((n, r) => n + Number(r[3]), 0)).toBe(PARTITIONS);
    expect(stdout).toMatch(/^ {2}supercache\.main +2\/2 +0 /m);
    expect(stdout).toContain('HANDOFFS');
    // The alerts are the node's own (/health): none on an idle machine, a
    // latency alert when it is loaded; either way the section says which.
    expect(stdout).toMatch(/ALERTS\n( {2}none\n?$| {2}! \S)/m);
  }, 60_000);

  it('lists each alert the node reports under ALERTS, and "none" without any', async () => {
    const report = await fetchStatus({ peer: c.node('a').url, json: false, timeoutMs: 10_000 });
    const alert = { kind: 'latency', node: 'b', message: 'latency to b is 250 ms (threshold 100 ms)' };
    const withAlert = formatStatus({ ...report, health: { ...report.health, alerts: [alert] } });
    expect(withAlert).toMatch(/ALERTS\n {2}! latency to b is 250 ms \(threshold 100 ms\)$/m);
    expect(withAlert).not.toMatch(/ALERTS\n {2}none/);
    const quiet = formatStatus({ ...report, health: { ...report.health, alerts: [] } });
    expect(quiet).toMatch(/ALERTS\n {2}none/);
  }, 60_000);

  it('prints the same as JSON with --json', async () => {
    const { code, stdout } = await cli(['status', '--peer', c.node('a').url, '--json']);
    expect(code).toBe(0);
    const body = JSON.parse(stdout) as { state: { members: { id: string }[]; numPartition: number } };
    expect(body.state.members.map((m) => m.id).sort()).toEqual(['a', 'b', 'c']);
    expect(body.state.numPartition).toBe(PARTITIONS);
  }, 60_000);

  it('exits with 2 and the usage without --peer', async () => {
    const { code, stderr } = await cli(['status']);
    expect(code).toBe(2);
    expect(stderr).toContain('--peer (or SUPERCACHE_PEER) is required');
    expect(stderr).toContain('Usage: supercache-node status');
  }, 60_000);

  it('exits with 1 when no node answers at the URL', async () => {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    const { code, stderr } = await cli(['status', '--peer', 'http://127.0.0.1:9', '--timeout-ms', '2000']);
    expect(code).toBe(1);
    expect(stderr).toContain('cannot read http://127.0.0.1:9');
  }, 60_000);
});
