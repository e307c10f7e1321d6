import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const coreDir = fileURLToPath(new URL('../', import.meta.url));
const HTTP_STACK = /[/\\]node_modules[/\\](?:\.pnpm[/\\])?(?:fastify|undici|msgpackr)[@/\\]/;

/** Every module a fresh process loads to import `specifier`. */
function loadsOf(specifier: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@supercache/source', '--import', 'tsx', 'test/fixtures/list-loads.mjs', specifier],
      { cwd: coreDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`exit ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as string[]);
    });
  });
}

describe('entry points', () => {
  it('@supercache/core (local mode) loads no module of fastify, undici or msgpackr, nor the cluster package', async () => {
    const loads = await loadsOf('@supercache/core');
    expect(loads.some((u) => u.includes('/packages/core/src/index.ts'))).toBe(true);
    expect(loads.filter((u) => HTTP_STACK.test(u))).toEqual([]);
    expect(loads.filter((u) => u.includes('/packages/cluster/'))).toEqual([]);
  });

  it('@supercache/core/cluster does load the HTTP stack (the check above can see it)', async () => {
    const loads = await loadsOf('@supercache/core/cluster');
    const http = loads.filter((u) => HTTP_STACK.test(u)).join('\n');
    expect(http).toContain('fastify');
    expect(http).toContain('undici');
    expect(http).toContain('msgpackr');
  });
});
