/**
 * The peer handlers of the cluster protocol: one table from method name to
 * the part of the node that serves it, registered on the transport and kept
 * for calls a node makes to itself. Every handler checks that the node is
 * running and that the body is a map, refreshes the sender's liveness, and
 * is counted while it runs (a leaving node drains them).
 */

import type { Transport } from '@supercache/router';
import { SuperCacheError, type Term } from '@supercache/storage';
import type { DistributedTable } from './distributed-table.js';
import { type Body, int, intList, isRecord, list, str } from './fields.js';
import type { HandoffParticipant } from './handoff-participant.js';
import type { Heartbeat } from './heartbeat.js';
import type { NodeContext } from './node-context.js';
import { isThenable, type PeerCallContext } from './protocol.js';
import { assertView } from './view.js';
import type { ViewCoordinator } from './view-coordinator.js';
import { checkRemoteClock, checkReplicaBatches, checkReplicaEntries } from './wire-check.js';

/** `readOnly`: the caller holds a read-only client token (see `credentials.ts`). */
type Handler = (body: Body, from: string, readOnly: boolean) => unknown;

/** The parts of a node that serve peer methods. */
export interface PeerParts {
  readonly heartbeat: Heartbeat;
  readonly coordinator: ViewCoordinator;
  readonly handoff: HandoffParticipant;
}

/** The registered handlers of one node. */
export class PeerHandlers {
  readonly #ctx: NodeContext;
  readonly #handlers = new Map<string, Handler>();
  #inflight = 0;

  constructor(ctx: NodeContext, transport: Transport, parts: PeerParts) {
    this.#ctx = ctx;
    register(this, transport, ctx, parts);
  }

  /** Handlers still running. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Registers `fn` for `method` on `transport` (and for calls to self). */
  on(transport: Transport, method: string, fn: Handler): void {
    const ctx = this.#ctx;
    // Synchronous when the handler is: a batch of reads then costs no promise per call.
    const wrapped = (body: unknown, call: PeerCallContext): unknown => {
      if (ctx.stopped) throw new SuperCacheError('SC_ERR_NOT_STARTED', `node ${ctx.nodeId} is stopped`);
      if (!isRecord(body)) throw new SuperCacheError('SC_ERR_BAD_REQUEST', `${method} expects a map body`);
      // A call from a member does not count as hearing from it: only its
      // answers to this node's own pings, at its address, do. So whoever
      // holds a member's key cannot keep a dead member in the view by
      // calling as it.
      this.#inflight++;
      let out: unknown;
      try {
        out = fn(body, call.from, call.readOnly === true);
      } catch (error) {
        this.#inflight--;
        throw error;
      }
      if (!isThenable(out)) {
        this.#inflight--;
        return out;
      }
      return Promise.resolve(out).finally(() => {
        this.#inflight--;
      });
    };
    this.#handlers.set(method, async (body, from) => wrapped(body, { from }));
    transport.handle(method, wrapped);
  }

  /** Runs a handler for a call this node makes to itself. */
  async local<T>(method: string, body: unknown): Promise<T> {
    const h = this.#handlers.get(method);
    if (h === undefined) throw new SuperCacheError('SC_ERR_UNKNOWN_METHOD', `no handler for ${method}`);
    return (await h(body as Body, this.#ctx.nodeId, false)) as T;
  }
}

/**
 * `table`, once a read-only caller is known not to run a writing command.
 * @throws SuperCacheError `SC_ERR_FORBIDDEN` when it would write;
 *   `SC_ERR_BAD_REQUEST`-family errors of the registry for an unknown command.
 */
function readable(table: DistributedTable, command: string, readOnly: boolean): DistributedTable {
  if (readOnly && table.shards.registry.get(command).write) {
    throw new SuperCacheError('SC_ERR_FORBIDDEN', `a read-only client token may not run ${command}`, {
      details: { command },
    });
  }
  return table;
}

function register(on: PeerHandlers, transport: Transport, ctx: NodeContext, parts: PeerParts): void {
  const { heartbeat, coordinator, handoff } = parts;
  const add = (method: string, fn: Handler) => on.on(transport, method, fn);
  // Membership and views
  add('sc.ping', (b, from) => heartbeat.answer(b, from));
  add('sc.view', () => ctx.view);
  add('sc.viewPropose', (b, from) => {
    const draft = assertView(b.view);
    ctx.guard.checkProposal(draft, from);
    const ok = coordinator.promise(draft);
    if (ok) ctx.guard.announce(draft, from);
    // With the promise, what this node holds of each replicated table: the
    // leader promotes the copy that applied the most.
    const seqs: Record<string, Record<string, number>> = {};
    if (ok)
      for (const t of ctx.tables.values())
        if (t.replicator !== undefined) seqs[t.name] = t.replicator.copySeqs();
    return { ok, e: ctx.view.epoch, seqs };
  });
  add('sc.viewCommit', (b, from) => {
    ctx.adoptFrom(assertView(b.view), from);
    return { e: ctx.view.epoch };
  });
  add('sc.join', (b) => coordinator.handleJoin(b));
  add('sc.leave', (b, from) => coordinator.handleLeave(b, from));
  add('sc.tableJoin', (b) => coordinator.handleTableJoin(b));
  // Data plane
  add('sc.exec', (b, from, readOnly) =>
    readable(handoff.tableOf(b), str(b, 'c'), readOnly).serveShardNow(
      (b.pd ?? null) as Term,
      str(b, 'c'),
      list(b, 'a'),
      { from, epoch: int(b, 'e'), clock: checkRemoteClock(b.v, ctx.settings.hlc) },
      b.p === undefined ? undefined : int(b, 'p'),
      b.w === true,
    ),
  );
  add('sc.node', (b, from, readOnly) =>
    readable(handoff.tableOf(b), str(b, 'c'), readOnly).serveNode(
      str(b, 'c'),
      list(b, 'a'),
      { from, epoch: int(b, 'e') },
      b.s === undefined ? undefined : intList(b, 's'),
    ),
  );
  add('sc.cursorOpen', async (b, from) => ({
    id: await handoff.tableOf(b).openCursor(str(b, 'k') as never, b.a, { from, epoch: int(b, 'e') }),
  }));
  add('sc.cursorNext', (b) => {
    const n = int(b, 'n');
    if (n < 1) throw new SuperCacheError('SC_ERR_BAD_REQUEST', 'n must be positive');
    return handoff.tableOf(b).cursorNext(int(b, 'id'), n);
  });
  add('sc.cursorClose', (b) => {
    handoff.tableOf(b).cursorClose(int(b, 'id'));
    return true;
  });
  // Replication
  add('sc.replicate', (b, from) => {
    const t = handoff.tableOf(b);
    const batches = list<unknown>(b, 'b');
    checkReplicaBatches(batches, t.spec.keyPos, ctx.settings.hlc);
    return t.serveReplicate(from, int(b, 'e'), batches);
  });
  add('sc.replicaDigest', (b, from) =>
    handoff.tableOf(b).serveReplicaDigest(from, int(b, 'e'), int(b, 'p'), int(b, 's'), b.d),
  );
  add('sc.replicaSnapshot', (b, from) => {
    const t = handoff.tableOf(b);
    const items = list<unknown>(b, 'items');
    checkReplicaEntries(items, t.spec.keyPos, ctx.settings.hlc);
    return t.serveReplicaSnapshot(
      from,
      int(b, 'e'),
      int(b, 'p'),
      int(b, 's'),
      b.first === true,
      b.last === true,
      items,
    );
  });
  add('sc.readCopy', (b) =>
    handoff
      .tableOf(b)
      .readCopy(
        (b.pd ?? null) as Term,
        str(b, 'c'),
        list(b, 'a'),
        b.p === undefined ? undefined : int(b, 'p'),
      ),
  );
  // Handoff
  add('sc.handoffPrepare', (b, from) => handoff.prepare(b, from));
  add('sc.handoffExpect', (b, from) => handoff.expect(b, from));
  add('sc.handoffSwitch', (b, from) => handoff.switch(b, from));
  add('sc.handoffChunk', (b, from) => handoff.stage(b, from, false));
  add('sc.handoffDelta', (b, from) => handoff.stage(b, from, true));
  add('sc.handoffDone', (b, from) => handoff.done(b, from));
  add('sc.handoffAbort', (b, from) => handoff.abort(b, from));
}
