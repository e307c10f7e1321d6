/**
 * A fault bed of Linux network namespaces for multi-process tests: `n`
 * namespaces `sc-<random>-<i>`, each with one veth (`eth0`) plugged into a
 * bridge that lives in a hub namespace `sc-<random>-hub`, so the nodes
 * reach each other on private addresses `10.231.7.<i + 1>/24` that exist
 * only inside the namespaces this helper creates (nothing is added to the
 * host's own network).
 *
 * Faults cut the real links: {@link NetnsBed.partition} drops everything
 * that crosses a namespace's `eth0` with nftables, {@link NetnsBed.loss}
 * drops a random share of its packets with nftables, {@link NetnsBed.netem}
 * delays and drops packets with `tc netem` on both ends of its veth (where
 * the kernel has sch_netem; {@link netnsSupport} says).
 *
 * The test process stays in the host namespace and reaches a node through
 * {@link NetnsBed.localUrl}: a 127.0.0.1 listener in this process that
 * forwards each connection over a Unix socket (files are shared between
 * namespaces) to a small relay process inside the node's namespace, which
 * connects to the node over that namespace's loopback. A partition drops
 * only `eth0`, so the test still talks to an isolated node — as a client
 * on its side of the split would.
 *
 * {@link NetnsBed.destroy} removes everything; a process `exit` guard does
 * the same synchronously if a run ends without it.
 */

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeCommand } from '../src/node-process.js';

const run = promisify(execFile);

/** The private subnet inside the namespaces (the hub bridge has no address). */
const SUBNET = '10.231.7';

/** Whether this machine can build the bed, and why not; `netem` says whether `tc netem` works in it. */
export type NetnsSupport =
  | {
      readonly ok: true;
      readonly netem: { readonly ok: true } | { readonly ok: false; readonly reason: string };
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Probes what the bed needs: root, the `ip`, `nft` and `tc` commands, and the
 * right to create a namespace (a container without `CAP_NET_ADMIN` lacks it).
 * Synchronous, for `describe.skipIf` at collection time.
 */
export function netnsSupport(): NetnsSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  for (const [cmd, args] of [
    ['ip', ['-V']],
    ['nft', ['-v']],
    ['tc', ['-V']],
  ] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `\`${cmd}\` is missing (Debian: apt-get install iproute2 nftables)` };
    }
  }
  const probe = `sc-probe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
  } catch (e) {
    const why = String((e as { stderr?: unknown }).stderr ?? e).trim();
    return { ok: false, reason: `cannot create a network namespace: ${why}` };
  }
  // Some kernels are built without sch_netem (the qdisc kind is then "unknown").
  let netem: { ok: true } | { ok: false; reason: string } = { ok: true };
  try {
    execFileSync('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], {
      stdio: 'pipe',
    });
  } catch (e) {
    const why = String((e as { stderr?: unknown }).stderr ?? e).trim();
    netem = { ok: false, reason: `this kernel has no tc netem (sch_netem): ${why}` };
  }
  try {
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    // gone already
  }
  return { ok: true, netem };
}

/** Options of {@link NetnsBed.netem}. */
export interface NetemOptions {
  /** Added one-way delay in ms on each end of the link (so the round trip grows by twice as much). */
  readonly delayMs?: number;
  /** Packets dropped on each end of the link, in percent. */
  readonly lossPct?: number;
}

/**
 * The relay run inside a namespace: it listens on a Unix socket and, per
 * connection, reads one header line `host port` and then pipes the rest to
 * that TCP address (reached over the namespace's loopback).
 */
const RELAY = `
const net = require('node:net');
const path = process.argv[1];
net.createServer((s) => {
  let head = Buffer.alloc(0);
  const close = (u) => { s.destroy(); if (u) u.destroy(); };
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    s.off('data', onData);
    s.pause();
    const [host, port] = head.subarray(0, nl).toString().split(' ');
    const rest = head.subarray(nl + 1);
    const u = net.connect(Number(port), host, () => {
      if (rest.length > 0) u.write(rest);
      s.pipe(u);
      u.pipe(s);
    });
    u.on('error', () => close(u));
    u.on('close', () => close(u));
    s.on('error', () => close(u));
    s.on('close', () => close(u));
  };
  s.on('data', onData);
}).listen(path, () => process.stdout.write('ready\\n'));
`;

/** Every bed still alive in this process, for the exit guard. */
const live = new Set<NetnsBed>();
let guardInstalled = false;
function installExitGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('exit', () => {
    for (const bed of live) bed.destroySync();
  });
}

/** `n` namespaces on one bridge; see the module comment. */
export class NetnsBed {
  /** Namespace names, one per node index. */
  readonly names: readonly string[];
  /** The hub namespace holding the bridge. */
  readonly hub: string;
  readonly #dir: string;
  readonly #relays: ChildProcess[] = [];
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #partitioned = new Set<number>();
  readonly #shaped = new Set<number>();
  readonly #lossy = new Set<number>();
  #destroyed = false;

  private constructor(n: number) {
    const tag = `sc-${randomBytes(3).toString('hex')}`;
    this.hub = `${tag}-hub`;
    this.names = Array.from({ length: n }, (_x, i) => `${tag}-${i}`);
    this.#dir = mkdtempSync(join(tmpdir(), `${tag}-`));
  }

  /** Builds `n` connected namespaces with loopback up and a relay in each. Destroys what it made if a step fails. */
  static async create(n: number): Promise<NetnsBed> {
    installExitGuard();
    const bed = new NetnsBed(n);
    live.add(bed);
    try {
      await bed.#build();
    } catch (e) {
      await bed.destroy();
      throw e;
    }
    return bed;
  }

  async #build(): Promise<void> {
    const hub = this.hub;
    await run('ip', ['netns', 'add', hub]);
    await run('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
    for (const [i, ns] of this.names.entries()) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // One veth: `p<i>` on the hub's bridge, `eth0` inside the node's namespace.
      await run('ip', [
        '-n',
        hub,
        'link',
        'add',
        `p${i}`,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
      ]);
      await run('ip', ['-n', hub, 'link', 'set', `p${i}`, 'master', 'br0']);
      await run('ip', ['-n', hub, 'link', 'set', `p${i}`, 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${this.address(i)}/24`, 'dev', 'eth0']);
      await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      await this.#startRelay(i);
    }
  }

  async #startRelay(i: number): Promise<void> {
    const child = spawn(
      'ip',
      ['netns', 'exec', this.ns(i), process.execPath, '-e', RELAY, this.#socketPath(i)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#relays.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay in ${this.ns(i)} silent: ${err}`)), 20_000);
      child.stdout?.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`relay in ${this.ns(i)} exited (${code}): ${err}`));
      });
    });
  }

  #socketPath(i: number): string {
    return join(this.#dir, `relay-${i}.sock`);
  }

  /** The namespace of node index `i`. */
  ns(i: number): string {
    const name = this.names[i];
    if (name === undefined) throw new Error(`no namespace ${i}`);
    return name;
  }

  /** The address of node index `i` inside the namespaces. */
  address(i: number): string {
    return `${SUBNET}.${i + 1}`;
  }

  /** `command` run inside namespace `i` (through `ip netns exec`, which execs it: signals reach it directly). */
  command(i: number, command: NodeCommand): NodeCommand {
    return {
      executable: 'ip',
      args: ['netns', 'exec', this.ns(i), command.executable ?? process.execPath, ...command.args],
      ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    };
  }

  /**
   * A `http://127.0.0.1:<port>` URL in the host namespace that reaches `url`
   * (an address inside namespace `i`) through the relay of that namespace.
   */
  async localUrl(i: number, url: string): Promise<string> {
    const target = new URL(url);
    const path = this.#socketPath(i);
    const server = createServer((client) => {
      this.#sockets.add(client);
      const relay = netConnect(path);
      this.#sockets.add(relay);
      relay.write(`${target.hostname} ${target.port}\n`);
      client.pipe(relay);
      relay.pipe(client);
      const close = () => {
        client.destroy();
        relay.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(relay);
      };
      client.on('error', close);
      client.on('close', close);
      relay.on('error', close);
      relay.on('close', close);
    });
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no local address');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Cuts namespace `i` off from the others: nftables drops every packet in or out of its `eth0`. */
  async partition(i: number): Promise<void> {
    const rules = [
      'table inet sc_partition {',
      '  chain input { type filter hook input priority 0; policy accept; iifname "eth0" drop; }',
      '  chain output { type filter hook output priority 0; policy accept; oifname "eth0" drop; }',
      '}',
    ].join('\n');
    await this.#nft(i, rules);
    this.#partitioned.add(i);
  }

  /** Removes every partition. */
  async heal(): Promise<void> {
    for (const i of [...this.#partitioned]) {
      await run('ip', ['netns', 'exec', this.ns(i), 'nft', 'delete', 'table', 'inet', 'sc_partition']);
      this.#partitioned.delete(i);
    }
  }

  /**
   * Random loss on node `i`'s link without `tc`: nftables drops `lossPct`
   * percent of the packets in and of those out of its `eth0` (0 clears it).
   * Works on kernels without sch_netem.
   */
  async loss(i: number, lossPct: number): Promise<void> {
    const ns = this.ns(i);
    if (this.#lossy.has(i)) {
      await run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'sc_loss']);
      this.#lossy.delete(i);
    }
    if (lossPct <= 0) return;
    const below = Math.round(lossPct * 100);
    const rules = [
      'table inet sc_loss {',
      `  chain input { type filter hook input priority 0; policy accept; iifname "eth0" numgen random mod 10000 < ${below} counter drop; }`,
      `  chain output { type filter hook output priority 0; policy accept; oifname "eth0" numgen random mod 10000 < ${below} counter drop; }`,
      '}',
    ].join('\n');
    await this.#nft(i, rules);
    this.#lossy.add(i);
  }

  /** Packets {@link loss} dropped so far on node `i`'s link (both directions). */
  async lossDropped(i: number): Promise<number> {
    if (!this.#lossy.has(i)) return 0;
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      this.ns(i),
      'nft',
      '-j',
      'list',
      'table',
      'inet',
      'sc_loss',
    ]);
    let total = 0;
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) for (const x of v) walk(x);
      else if (v !== null && typeof v === 'object') {
        const counter = (v as { counter?: { packets?: unknown } }).counter;
        if (typeof counter?.packets === 'number') total += counter.packets;
        for (const x of Object.values(v)) walk(x);
      }
    };
    walk(JSON.parse(stdout));
    return total;
  }

  async #nft(i: number, rules: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', this.ns(i), 'nft', '-f', '-'], (e) =>
        e === null ? resolve() : reject(e),
      );
      child.stdin?.end(`${rules}\n`);
    });
  }

  /** Delay and loss on node `i`'s link, both directions (its `eth0` and the bridge end); no options clears them. */
  async netem(i: number, options: NetemOptions = {}): Promise<void> {
    const ends: Array<[string, string]> = [
      [this.ns(i), 'eth0'],
      [this.hub, `p${i}`],
    ];
    const clear = options.delayMs === undefined && options.lossPct === undefined;
    for (const [ns, dev] of ends) {
      if (clear) {
        if (this.#shaped.has(i)) await run('tc', ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root']);
        continue;
      }
      const spec: string[] = [];
      if (options.delayMs !== undefined) spec.push('delay', `${options.delayMs}ms`);
      if (options.lossPct !== undefined) spec.push('loss', `${options.lossPct}%`);
      await run('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'netem', ...spec]);
    }
    if (clear) this.#shaped.delete(i);
    else this.#shaped.add(i);
  }

  /** Process ids still running inside the bed's namespaces (processes the tests started there). */
  async pids(): Promise<number[]> {
    const out: number[] = [];
    for (const ns of [this.hub, ...this.names]) {
      try {
        const { stdout } = await run('ip', ['netns', 'pids', ns]);
        for (const line of stdout.split('\n')) if (line.trim() !== '') out.push(Number(line));
      } catch {
        // namespace not created
      }
    }
    return out;
  }

  /** Kills what runs inside, closes the local listeners, deletes the namespaces and the socket directory. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const s of this.#sockets) s.destroy();
    await Promise.allSettled(this.#servers.map((s) => new Promise((r) => s.close(r))));
    for (const r of this.#relays) r.kill('SIGKILL');
    for (const pid of await this.pids()) killQuietly(pid);
    for (const ns of [...this.names, this.hub]) {
      try {
        await run('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** {@link destroy} without awaiting anything, for the process `exit` guard. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const r of this.#relays) if (r.pid !== undefined) killQuietly(r.pid);
    for (const ns of [this.hub, ...this.names]) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
        for (const line of pids.split('\n')) if (line.trim() !== '') killQuietly(Number(line));
      } catch {
        // not created
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
