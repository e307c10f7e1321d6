/**
 * The facades' debug log and injectable logger.
 *
 * Two switches turn debug lines on: `NODE_DEBUG=supercache` at process start
 * (read by `util.debuglog`, like Node's own modules), and {@link setDebug}
 * at run time, without a restart. An injected {@link Logger} (pino's
 * interface: `{ debug, info, warn, error }`, merging object first) receives
 * info, warn and error lines always, and debug lines while debug is on.
 */

import { debuglog } from 'node:util';
import { badConfig } from './errors.js';

/** A pino-compatible logger: each method takes a merging object, then a message. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const nodeDebug = debuglog('supercache');
let forced = false;

/**
 * Turns the facades' debug log on or off at run time (the seed's
 * `SuperCache.Log.enable`). Without an injected logger, debug lines go to
 * stderr as `SUPERCACHE <pid>: …`, the format of `NODE_DEBUG`. `false`
 * leaves `NODE_DEBUG=supercache` in force when it was set at start.
 */
export function setDebug(on: boolean): void {
  forced = on === true;
}

/** True while debug lines are written: {@link setDebug}`(true)` or `NODE_DEBUG=supercache`. */
export function debugEnabled(): boolean {
  return forced || nodeDebug.enabled;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Validates a `logger` option: an object with `debug`, `info`, `warn` and
 * `error` functions.
 * @throws SuperCacheError `SC_ERR_BAD_CONFIG` naming `logger` or the missing method.
 */
export function loggerOption(owner: string, v: unknown): Logger | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null) {
    throw badConfig(owner, 'logger', 'an object with debug, info, warn and error methods (pino)', v);
  }
  for (const level of LEVELS) {
    const fn = (v as Record<string, unknown>)[level];
    if (typeof fn !== 'function') throw badConfig(owner, `logger.${level}`, 'a function', fn);
  }
  return v as Logger;
}

/** The log of one facade instance: fields every line carries, and where lines go. */
export class FacadeLog {
  readonly #logger: Logger | undefined;
  readonly #fields: Readonly<Record<string, unknown>>;

  constructor(logger: Logger | undefined, fields: Record<string, unknown>) {
    this.#logger = logger;
    this.#fields = Object.freeze({ ...fields });
  }

  /** A debug line; costs one boolean test while debug is off. */
  debug(message: string, fields?: Record<string, unknown>): void {
    if (!debugEnabled()) return;
    const all = fields === undefined ? this.#fields : { ...this.#fields, ...fields };
    if (this.#logger !== undefined) {
      this.#logger.debug(all, message);
      return;
    }
    const line = `${message} ${JSON.stringify(all)}`;
    if (nodeDebug.enabled) nodeDebug('%s', line);
    else process.stderr.write(`SUPERCACHE ${process.pid}: ${line}\n`);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#line('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.#line('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.#line('error', message, fields);
  }

  /** To the injected logger; without one, a debug line (a library prints nothing by default). */
  #line(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    if (this.#logger === undefined) {
      this.debug(`${level}: ${message}`, fields);
      return;
    }
    this.#logger[level](fields === undefined ? this.#fields : { ...this.#fields, ...fields }, message);
  }
}
