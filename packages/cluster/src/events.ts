/**
 * Cluster events: a typed EventEmitter on every node, mirrored on
 * `node:diagnostics_channel` channels so tools can observe every node of a
 * process without holding references to them.
 */

import diagnostics from 'node:diagnostics_channel';
import type { View } from './view.js';

/** Channel names (the Node analog of `:telemetry` events). */
export const CHANNELS: Readonly<{
  view: 'supercache:cluster:view';
  handoff: 'supercache:handoff:progress';
  health: 'supercache:health:check';
}> = Object.freeze({
  view: 'supercache:cluster:view',
  handoff: 'supercache:handoff:progress',
  health: 'supercache:health:check',
});

/** Published on `supercache:cluster:view` and emitted as `viewChange`. */
export interface ViewChangeEvent {
  /** The node that adopted the view. */
  readonly node: string;
  readonly view: View;
  readonly previous: View;
  /** Members that appeared. */
  readonly added: readonly string[];
  /** Members that disappeared. */
  readonly removed: readonly string[];
}

/** Phases a handoff goes through, as reported by each role. */
export type HandoffPhase =
  | 'start'
  | 'snapshot'
  | 'delta'
  | 'switch'
  | 'staged'
  | 'applied'
  | 'committed'
  | 'aborted';

/** Published on `supercache:handoff:progress` and emitted as `handoffProgress`. */
export interface HandoffProgressEvent {
  /** The node reporting. */
  readonly node: string;
  /** Handoff id (also recorded in {@link View.handoffs} once committed). */
  readonly handoff: string;
  /** `source` streams data out, `target` stages it, `leader` drives the change. */
  readonly role: 'source' | 'target' | 'leader';
  readonly phase: HandoffPhase;
  /** The table concerned, when one is. */
  readonly table?: string;
  /** The peer concerned (the target for a source, the source for a target). */
  readonly peer?: string;
  /** Entries sent (source), staged or applied (target), or in all (leader) so far. */
  readonly entries: number;
  /** Estimated bytes of those entries. */
  readonly bytes: number;
  /** Milliseconds since this role started the handoff. */
  readonly durationMs: number;
  /** Error message, for `aborted`. */
  readonly error?: string;
}

/** The events of a {@link ClusterNode}. */
export interface ClusterEvents {
  /** A member appeared in the view. */
  nodeUp: [node: string, view: View];
  /** A member left the view (gracefully or declared dead). */
  nodeDown: [node: string, view: View];
  /** This node adopted a new view. */
  viewChange: [event: ViewChangeEvent];
  /** A handoff made progress. */
  handoffProgress: [event: HandoffProgressEvent];
  /** A health report was computed (see {@link ClusterNode.health}). */
  health: [report: unknown];
}

export const viewChannel: diagnostics.Channel = diagnostics.channel(CHANNELS.view);
export const handoffChannel: diagnostics.Channel = diagnostics.channel(CHANNELS.handoff);
export const healthChannel: diagnostics.Channel = diagnostics.channel(CHANNELS.health);
