/**
 * A tiny authoritative DNS server over UDP for tests: answers A, AAAA and
 * SRV questions from a zone the test edits while it runs, and counts the
 * questions it gets. Listens on 127.0.0.1 only.
 */

import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** SRV record data. */
export interface SrvData {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

/** The records of one name. */
export interface ZoneEntry {
  a?: string[];
  aaaa?: string[];
  srv?: SrvData[];
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;

function encodeName(name: string): Buffer {
  const parts = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '');
  const chunks = parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  return Buffer.concat([...chunks, Buffer.from([0])]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head === '' || head === undefined ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

function rdataOf(type: number, entry: ZoneEntry): Buffer[] {
  if (type === TYPE_A) return (entry.a ?? []).map((ip) => Buffer.from(ip.split('.').map(Number)));
  if (type === TYPE_AAAA) return (entry.aaaa ?? []).map(ipv6Bytes);
  if (type === TYPE_SRV) {
    return (entry.srv ?? []).map((r) => {
      const head = Buffer.alloc(6);
      head.writeUInt16BE(r.priority, 0);
      head.writeUInt16BE(r.weight, 2);
      head.writeUInt16BE(r.port, 4);
      return Buffer.concat([head, encodeName(r.target)]);
    });
  }
  return [];
}

/** A running responder. */
export class DnsResponder {
  /** Records by lower-case name, without the trailing dot. Edit freely. */
  readonly zone = new Map<string, ZoneEntry>();
  /** Questions answered, as `type name` (`SRV _supercache._tcp.example`). */
  readonly questions: string[] = [];
  /** When true, every answer is SERVFAIL. */
  failing = false;
  readonly #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => {
      const reply = this.#answer(msg);
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
    });
  }

  /** Starts a responder on 127.0.0.1 and a free port. */
  static async start(): Promise<DnsResponder> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new DnsResponder(socket);
  }

  /** `127.0.0.1:PORT`, for `Resolver.setServers`. */
  get server(): string {
    return `127.0.0.1:${(this.#socket.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #answer(msg: Buffer): Buffer | undefined {
    if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
    let at = 12;
    const labels: string[] = [];
    while (at < msg.length && msg[at] !== 0) {
      const len = msg[at]!;
      labels.push(msg.subarray(at + 1, at + 1 + len).toString('ascii'));
      at += 1 + len;
    }
    const questionEnd = at + 5;
    if (questionEnd > msg.length) return undefined;
    const type = msg.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    const typeName =
      type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type === TYPE_SRV ? 'SRV' : `T${type}`;
    this.questions.push(`${typeName} ${name}`);
    const entry = this.zone.get(name);
    const rcode = this.failing ? 2 : entry === undefined ? 3 : 0;
    const answers = rcode === 0 && entry !== undefined ? rdataOf(type, entry) : [];

    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    // QR, opcode 0, AA, RD copied from the question, RA, then the rcode.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((rdata) => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // class IN
      rr.writeUInt32BE(0, 6); // TTL 0: nothing to cache
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    return Buffer.concat([header, msg.subarray(12, questionEnd), ...records]);
  }
}
