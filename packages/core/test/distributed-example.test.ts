import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@supercache/source', '--import', 'tsx', 'examples/distributed-mode.ts'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // The example bounds itself (it exits 1 past its own hard timeout); this
    // is the last resort if it hangs before arming it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/distributed-mode.ts', () => {
  it('runs three nodes to completion by itself, stops every node and prints what each section shows', async () => {
    const { code, stdout, stderr } = await run();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // Three nodes of one cluster, on the loopback interface.
    expect(stdout).toMatch(
      /Main cluster: nodes a, b, c on http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+ .*node c sees members a, b, c, leader a/,
    );
    expect(stdout).toContain('Distributed mode? true');
    // Writes through a, reads through b and c; a PartitionedTable across the three.
    expect(stdout).toContain('Get user 7 through node b: [["user",7,"User_7"]]');
    expect(stdout).toContain('Users readable through node c: 30/30');
    expect(stdout).toContain('Lookup order-5 through node a: [["order-5",50]]');
    expect(stdout).toContain('Orders counted through node c: 20');
    // sync and strong acknowledge after a majority of 2 copies: both hold it when put resolves.
    expect(stdout).toMatch(/async: copies of user 100 .* held right after the put: [12] of 3 nodes/);
    expect(stdout).toMatch(/sync: copies of user 100 .* held right after the put: 2 of 3 nodes/);
    expect(stdout).toMatch(/strong: copies of user 100 .* held right after the put: 2 of 3 nodes/);
    expect(stdout).toContain(
      `strong: read through node b with readMode 'primary': [["user",100,"written in strong mode"]]`,
    );
    // Each read mode per call, then read-your-writes through primary and quorum reads.
    for (const mode of ['local', 'primary', 'quorum']) {
      expect(stdout).toMatch(
        new RegExp(`readMode '${mode}' through node \\w — .*: \\[\\["user",7,"User_7"\\]\\]`),
      );
    }
    expect(stdout).toMatch(
      /readMode 'primary' through node \w right after: \[\["user",7,"Renamed_7"\]\] — sees/,
    );
    expect(stdout).toMatch(
      /readMode 'quorum' through node \w right after: \[\["user",7,"Renamed_7"\]\] — sees/,
    );
    // A local read at the backup may or may not have caught up in async mode: either answer is valid.
    expect(stdout).toMatch(
      /readMode 'local' through node \w \(the backup\) right after: \[\["user",7,"(User_7|Renamed_7)"\]\] — .* may lag/,
    );
    // A node's own write, read locally on the backup that took it: always seen.
    expect(stdout).toMatch(
      /Put \['user', 7, 'Own_7'\] through node (\w), then readMode 'local' through node \1: \[\["user",7,"Own_7"\]\]/,
    );
    // The health report, as returned and as published on the diagnostics channel.
    expect(stdout).toContain('Health reports that arrived on supercache:health:check: a, b, c');
    // An alert raised and cleared, as it arrived on supercache:health:alert.
    for (const peer of ['b', 'c']) {
      expect(stdout).toContain(`latency ${peer} raised`);
      expect(stdout).toContain(`latency ${peer} cleared`);
    }
    expect(stdout).toMatch(/Node a: status=running epoch=\d+ leader=a successRate=1\n/);
    for (const id of ['a', 'b', 'c']) expect(stdout).toMatch(new RegExp(`member ${id}: alive=true`));
    expect(stdout).toContain(
      'replication: mode=async factor=2 copies=2 shortfall=0 maxLag=0 records/0 ms outOfSync=0',
    );
    // A hard stop: with two copies per partition, the survivors keep every user.
    expect(stdout).toMatch(/The leader removed c after \d+ ms of silence; members now a, b;/);
    expect(stdout).toContain('Users still readable through node a: 30/30');
    expect(stdout).toContain('Users still readable through node b: 30/30');
    const orders = /Orders still readable through node a: (\d+)\/20/.exec(stdout);
    expect(orders).not.toBeNull();
    // The example's PartitionedTable runs with replicas: 1: what c held is gone.
    expect(Number(orders?.[1])).toBeLessThan(20);
    expect(stdout).toContain('Replication after the crash: hosts=2 copies=2 shortfall=0');
    // A graceful leave hands b's partitions to a.
    expect(stdout).toContain('Members now a; users readable through node a: 30/30');
    expect(stdout).toContain('Replication on a alone: copies=1 shortfall=1');
    expect(stdout).toContain('Node a stopped; every node of every cluster is down');
    expect(stdout).toContain('=== Example Complete ===');
  }, 180_000);
});
