import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const command = sourceCliCommand(root);

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...command.args, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

describe('supercache-node CLI', () => {
  const started: NodeProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((n) => n.kill()));
  });

  it('exits with 2 and a clear message on a bad flag', () => {
    const r = runCli(['--id', 'a', '--secret', 's', '--port', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port must be an integer');
    expect(r.stderr).toContain('Usage: supercache-node');
    const unknown = runCli(['--id', 'a', '--secret', 's', '--frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('frobnicate');
    const noSecret = runCli(['--id', 'a']);
    expect(noSecret.status).toBe(2);
    expect(noSecret.stderr).toContain('--secret');
  });

  it('prints the usage with --help and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SUPERCACHE_PEERS');
  });

  it('takes its settings from the environment', async () => {
    const r = runCli(['--port', 'x'], { SUPERCACHE_NODE_ID: 'e', SUPERCACHE_SECRET: 's' });
    // The id and secret came from the environment: only the port is wrong.
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port');
    expect(r.stderr).not.toContain('--id (or');
  });

  it('prints the bound port, serves, and leaves on SIGTERM with exit code 0', async () => {
    const node = await spawnNode(command, { id: 'solo', secret: 's3cret', logLevel: 'silent' });
    started.push(node);
    expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(node.events[0]).toEqual({ event: 'listening', id: 'solo', url: node.url });
    await node.ready;
    const put = await request(`${node.url}/v1/tuples`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tuple: ['k', 1] }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    const ready = await request(`${node.url}/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();
    expect(await node.stop()).toBe(0);
    expect(node.events.map((e) => e.event)).toEqual(['listening', 'client-api', 'ready', 'stopped']);
    expect(node.events[1]).toMatchObject({ url: node.url, auth: 'none' });
  });

  it('exits with 1 naming the cause when the cluster refuses the join', async () => {
    const seed = await spawnNode(command, {
      id: 'seed',
      secret: 'right',
      partitions: 16,
      logLevel: 'silent',
    });
    started.push(seed);
    await seed.ready;
    const mismatch = runCli([
      '--id',
      'm',
      '--secret',
      'right',
      '--port',
      '0',
      '--partitions',
      '8',
      '--peers',
      `seed=${seed.url}`,
    ]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toContain('SC_ERR_CONFIG_MISMATCH');
    expect(mismatch.stderr).toContain('numPartition');
    const wrongSecret = runCli([
      '--id',
      'w',
      '--secret',
      'wrong',
      '--port',
      '0',
      '--peers',
      `seed=${seed.url}`,
      '--log-level',
      'silent',
    ]);
    expect(wrongSecret.status).toBe(1);
    expect(wrongSecret.stderr).toContain('SC_ERR_UNAUTHORIZED');
    expect(await seed.stop()).toBe(0);
  });

  it('exits with 1 when the port is taken', async () => {
    const first = await spawnNode(command, { id: 'p1', secret: 's', logLevel: 'silent' });
    started.push(first);
    const port = new URL(first.url).port;
    const r = runCli(['--id', 'p2', '--secret', 's', '--port', port, '--log-level', 'silent']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot listen');
    await first.stop();
  });
});
