#!/usr/bin/env node
/**
 * `supercache-node`: runs one SuperCache node.
 *
 * stdout carries one JSON line per lifecycle event, for a parent process
 * to read: `{"event":"listening","id","url"}` once the port is bound (port 0
 * picks a free one), `{"event":"client-api","id","url","auth"}` right after
 * (where the JSON API listens, and `auth`: `"bearer"` or `"none"`), `{"event":"ready",…}` once the node joined and owns
 * its partitions, `{"event":"stopped",…}` after a graceful shutdown.
 * Logs (pino) go to stderr.
 *
 * SIGTERM / SIGINT: leave the cluster (hand the data off), close the
 * server, exit 0. A second signal exits at once with 130.
 * Usage errors exit with 2, a failed start with 1.
 *
 * `supercache-node status --peer URL` prints a running cluster at a glance
 * instead (see `status.ts`).
 */

import { parseNodeArgs, UsageError, usage } from './args.js';
import { type NodeRuntime, startNodeRuntime } from './runtime.js';
import { runStatus } from './status.js';

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** `CODE: message`, then its causes (a refused secret hides behind a join failure). */
function describe(e: unknown): string {
  const parts: string[] = [];
  let current: unknown = e;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    parts.push(`${typeof code === 'string' ? `${code}: ` : ''}${current.message}`);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.length === 0 ? String(e) : parts.join(' <- caused by ');
}

function fail(message: string, code: number): never {
  process.stderr.write(`supercache-node: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'status') {
    const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
    process.exitCode = await runStatus(process.argv.slice(3), process.env, io);
    return;
  }
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`supercache-node: ${e.message}\n\n${usage()}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (parsed.kind === 'token') {
    process.stdout.write(`${parsed.token}\n`);
    return;
  }
  const config = parsed.config;
  const started = performance.now();
  let runtime: NodeRuntime | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1 || runtime === undefined) {
      process.stderr.write(`supercache-node: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    runtime.app.log.info({ signal }, 'leaving the cluster');
    const t0 = performance.now();
    runtime.shutdown().then(
      () => {
        emit({ event: 'stopped', id: config.id, ms: Math.round(performance.now() - t0) });
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`supercache-node: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    runtime = await startNodeRuntime(config);
  } catch (e) {
    fail(`cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`, 1);
  }
  emit({ event: 'listening', id: config.id, url: runtime.url });
  emit({ event: 'client-api', id: config.id, url: runtime.clientUrl, auth: runtime.clientAuth });
  if (runtime.clientAuth === 'none') {
    runtime.app.log.warn(
      { url: runtime.clientUrl },
      'the JSON client API has no authentication (it listens on loopback only); give --client-token to require one',
    );
  }
  try {
    await runtime.join();
  } catch (e) {
    runtime.app.log.error({ err: e }, 'join failed');
    await runtime.shutdown().catch(() => {});
    fail(`cannot join the cluster: ${describe(e)}`, 1);
  }
  emit({ event: 'ready', id: config.id, url: runtime.url, ms: Math.round(performance.now() - started) });
}

main().catch((e: unknown) => fail((e as Error).stack ?? String(e), 1));
