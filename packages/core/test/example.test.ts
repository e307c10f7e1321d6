import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@supercache/source', '--import', 'tsx', 'examples/local-mode.ts'],
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
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/local-mode.ts', () => {
  it('runs to completion by itself and prints what each section does', async () => {
    const { code, stdout, stderr } = await run();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('=== Starting SuperCache (Local Mode) ===');
    expect(stdout).toContain('Get user 1: [["user",1,"Alice"]]');
    expect(stdout).toContain('Get user 7 after batch: [["user",7,"User_7"]]');
    expect(stdout).toContain("All users matching ['user', _, _]: 10 records");
    expect(stdout).toContain('Lazy counter after 100 lazyPuts: [["counter","hits",100]]');
    expect(stdout).toContain('Session count: 5');
    expect(stdout).toContain('Dequeued: process_order_1, process_order_2');
    expect(stdout).toContain('Popped: page_c, page_b');
    expect(stdout).toContain('Remaining pages, top first: ["page_a"]');
    expect(stdout).toContain('Remaining jobs: ["process_order_3"]');
    expect(stdout).toContain('(a User instance: true)');
    expect(stdout).toContain('Keys in order: ["a","b","c","d"]');
    expect(stdout).toContain('Sum with foldl: 10');
    expect(stdout).toContain('=== Example Complete ===');
  }, 90_000);
});
