/**
 * Runs `supercache-node` as a child process and follows its event lines.
 * Used by the demo, the multi-process tests and the cluster benchmark.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** How to start the CLI: the node executable's arguments before the CLI flags. */
export interface NodeCommand {
  /** Executable. @defaultValue process.execPath */
  readonly executable?: string;
  /** Arguments before the CLI flags (e.g. `['dist/cli.js']`). */
  readonly args: readonly string[];
  /** Working directory. @defaultValue process.cwd() */
  readonly cwd?: string;
}

/** The built CLI next to this module (`dist/cli.js` when running from dist). */
export function builtCliCommand(): NodeCommand {
  const here = dirname(fileURLToPath(import.meta.url));
  return { args: [join(here, 'cli.js')] };
}

/**
 * The CLI from source through tsx, with workspace packages read from source
 * (no build needed). `root` is the monorepo root.
 */
export function sourceCliCommand(root: string): NodeCommand {
  return {
    args: ['--conditions=@supercache/source', '--import', 'tsx', join(root, 'apps/node/src/cli.ts')],
    cwd: root,
  };
}

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  readonly id: string;
  readonly secret: string;
  /** `id → url` of nodes to join through. */
  readonly peers?: Readonly<Record<string, string>>;
  readonly partitions?: number;
  readonly tableType?: string;
  readonly host?: string;
  /** @defaultValue 0 (a free port) */
  readonly port?: number;
  /** @defaultValue 'warn' */
  readonly logLevel?: string;
  /** Extra CLI flags. */
  readonly extraArgs?: readonly string[];
  /** Receives every stderr line (logs). */
  readonly onLog?: (line: string) => void;
  /** Most ms to wait for the `listening` line. @defaultValue 20000 */
  readonly listenTimeoutMs?: number;
}

/** A running node process. */
export interface NodeProcess {
  readonly id: string;
  /** Its URL, from the `listening` line. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves with the `ready` event (the node joined), rejects if it exits first. */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  /** Every event line printed so far. */
  readonly events: ReadonlyArray<Record<string, unknown>>;
  /** The last stderr lines (at most 200), for failure messages. */
  readonly stderr: readonly string[];
  /** Sends SIGTERM (graceful leave) and waits for the exit, at most `timeoutMs` (then SIGKILL). */
  stop(timeoutMs?: number): Promise<number | string>;
  /** SIGKILL at once (a crash). */
  kill(): Promise<number | string>;
}

/**
 * Starts one node and resolves once it listens.
 * @throws Error when the process exits or stays silent before listening.
 */
export function spawnNode(command: NodeCommand, options: SpawnNodeOptions): Promise<NodeProcess> {
  const args = [
    ...command.args,
    '--id',
    options.id,
    '--secret',
    options.secret,
    '--host',
    options.host ?? '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--log-level',
    options.logLevel ?? 'warn',
  ];
  const peers = Object.entries(options.peers ?? {});
  if (peers.length > 0) args.push('--peers', peers.map(([id, url]) => `${id}=${url}`).join(','));
  if (options.partitions !== undefined) args.push('--partitions', String(options.partitions));
  if (options.tableType !== undefined) args.push('--table-type', options.tableType);
  args.push(...(options.extraArgs ?? []));
  // The parent decides: no inherited SUPERCACHE_* setting changes the child.
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('SUPERCACHE_') && v !== undefined) env[k] = v;
  const child = spawn(command.executable ?? process.execPath, args, {
    cwd: command.cwd ?? process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  let onEvent: ((e: Record<string, unknown>) => void) | undefined;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof e.event !== 'string') return;
    events.push(e);
    onEvent?.(e);
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 200) stderr.shift();
    options.onLog?.(line);
  });
  const tail = () => stderr.slice(-20).join('\n');

  const waitFor = (name: string, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = events.find((e) => e.event === name);
      if (found !== undefined) {
        resolve(found);
        return;
      }
      const timer = setTimeout(() => {
        reject(new Error(`node ${options.id}: no "${name}" event within ${timeoutMs} ms\n${tail()}`));
      }, timeoutMs);
      timer.unref();
      const previous = onEvent;
      onEvent = (e) => {
        previous?.(e);
        if (e.event === name) {
          clearTimeout(timer);
          resolve(e);
        }
      };
      exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`node ${options.id} exited (${code}) before "${name}"\n${tail()}`));
      }, reject);
    });

  const stopWith = async (signal: NodeJS.Signals, timeoutMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return waitFor('listening', options.listenTimeoutMs ?? 20_000).then(
    (listening) => {
      const ready = waitFor('ready', 120_000);
      ready.catch(() => {});
      return {
        id: options.id,
        url: String(listening.url),
        child,
        ready,
        exited,
        events,
        stderr,
        stop: (timeoutMs = 30_000) => stopWith('SIGTERM', timeoutMs),
        kill: () => stopWith('SIGKILL', 5_000),
      };
    },
    (e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    },
  );
}
