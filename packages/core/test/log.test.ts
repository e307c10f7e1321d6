import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { debugEnabled, type Logger, PartitionedTable, SuperCache, setDebug } from '../src/index.js';
import { expectCode } from './helpers.js';

const run = promisify(execFile);

interface Line {
  readonly level: keyof Logger;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: keyof Logger) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

let caches: SuperCache[] = [];

afterEach(async () => {
  setDebug(false);
  vi.restoreAllMocks();
  for (const c of caches) await c.stop().catch(() => {});
  caches = [];
});

async function started(options: ConstructorParameters<typeof SuperCache>[0]): Promise<SuperCache> {
  const cache = new SuperCache({ numPartition: 2, ...options, health: { intervalMs: 0 } });
  await cache.start();
  caches.push(cache);
  return cache;
}

describe('debug log', () => {
  it('switches debug lines on and off at run time, without a restart', async () => {
    const { logger, lines } = recorder();
    const cache = await started({ logger, nodeId: 'n1' });
    const debugLines = () => lines.filter((l) => l.level === 'debug');
    setDebug(false);
    await cache.forceCheck();
    expect(debugLines()).toEqual([]);
    setDebug(true);
    expect(debugEnabled()).toBe(true);
    await cache.forceCheck();
    expect(debugLines()).toHaveLength(1);
    expect(debugLines()[0]).toMatchObject({
      message: 'health check',
      fields: { facade: 'SuperCache', node: 'n1', status: 'ok' },
    });
    setDebug(false);
    expect(debugEnabled()).toBe(false);
    await cache.forceCheck();
    expect(debugLines()).toHaveLength(1);
  });

  it('gives an injected logger lifecycle lines whether debug is on or not', async () => {
    const { logger, lines } = recorder();
    const cache = new SuperCache({ logger });
    await cache.start();
    await cache.stop();
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['info', 'started'],
      ['info', 'stopped'],
    ]);
    expect(lines[0]?.fields).toMatchObject({ facade: 'SuperCache', mode: 'local' });
  });

  it('writes debug lines to stderr when no logger is injected, and nothing while off', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const cache = await started({});
    await cache.forceCheck();
    expect(writes.filter((w) => w.includes('SUPERCACHE'))).toEqual([]);
    setDebug(true);
    await cache.forceCheck();
    const ours = writes.filter((w) => w.startsWith(`SUPERCACHE ${process.pid}: `));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toContain('health check');
  });

  it('refuses a logger without the four methods, naming the missing one', async () => {
    const err = await expectCode(
      () => new SuperCache({ logger: { debug() {}, info() {}, warn() {} } as unknown as Logger }),
      'SC_ERR_BAD_CONFIG',
    );
    expect(err.message).toContain('logger.error');
    await expectCode(() => new SuperCache({ logger: 'pino' as unknown as Logger }), 'SC_ERR_BAD_CONFIG');
    await expectCode(
      () => PartitionedTable.start({ name: 'bad_logger', logger: {} as unknown as Logger }),
      'SC_ERR_BAD_CONFIG',
    );
  });

  it('turns on with NODE_DEBUG=supercache at process start', async () => {
    const script = fileURLToPath(new URL('./fixtures/debug-log.ts', import.meta.url));
    const { stderr } = await run(
      process.execPath,
      ['--conditions=@supercache/source', '--import', 'tsx', script],
      { env: { ...process.env, NODE_DEBUG: 'supercache' }, timeout: 60_000 },
    );
    expect(stderr).toMatch(/SUPERCACHE \d+: health check/);
    const quiet = await run(
      process.execPath,
      ['--conditions=@supercache/source', '--import', 'tsx', script],
      {
        env: { ...process.env, NODE_DEBUG: '' },
        timeout: 60_000,
      },
    );
    expect(quiet.stderr).not.toContain('SUPERCACHE');
  });
});
