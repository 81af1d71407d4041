/**
 * The client's copy of one state scope: applies `STATE_UPDATE` frames in version order and says
 * what to send back. Pure: no socket, no timers, no storage (persistence is a callback).
 */
import type { Json, StateAckFrame, StateResyncFrame, StateUpdateFrame, StateUpdateReason } from '../protocol/frames.js';
import { applyPatch } from '../protocol/patch.js';

/** Where a state value came from (`restored`: read back from storage, not yet confirmed). */
export type StateChangeSource = StateUpdateReason | 'restored';

/** A state value the application sees change. */
export interface StateChange {
  scope: string;
  value: Json;
  version: number;
  source: StateChangeSource;
  /** False while the value is a restored one the server has not yet confirmed. */
  confirmed: boolean;
}

/** What the replica asks its owner to do, in order. */
export type StateAction =
  | { type: 'send'; frame: StateAckFrame | StateResyncFrame }
  | { type: 'change'; change: StateChange };

/** A value and version as persisted. */
export interface SavedState {
  value: Json;
  version: number;
}

/** How `receive` treated a frame (for stats and tests). */
export type ReceiveOutcome = 'applied' | 'confirmed' | 'rewound' | 'stale' | 'gap' | 'bad_patch' | 'wrong_scope';

/** One scope's replica. */
export class StateReplica {
  /** The scope this replica holds (`session` or `room:<name>`). */
  readonly scope: string;
  private _value: Json = null;
  private _version: number | null = null;
  private _confirmed = false;
  private resyncPending = false;
  /** No update received since the last (re)connection or restore. */
  private fresh = true;
  private readonly persist: ((scope: string, saved: SavedState) => void) | undefined;

  /** @param persist called with every new value and version the replica accepts. */
  constructor(scope: string, persist?: (scope: string, saved: SavedState) => void) {
    this.scope = scope;
    this.persist = persist;
  }

  /** The current value (`null` before any). */
  get value(): Json {
    return this._value;
  }
  /** The version held, or null when the replica holds none (nothing received, or `reset`). */
  get version(): number | null {
    return this._version;
  }
  /** Whether the server has confirmed the value (false for a restored value until it answers). */
  get confirmed(): boolean {
    return this._confirmed;
  }
  /** Whether a `STATE_RESYNC` was sent and not yet answered by a full update. */
  get awaitingResync(): boolean {
    return this.resyncPending;
  }

  /** The value and version as a change event (e.g. for a late listener). */
  snapshot(source: StateChangeSource): StateChange | null {
    if (this._version === null) return null;
    return { scope: this.scope, value: this._value, version: this._version, source, confirmed: this._confirmed };
  }

  /**
   * Load a persisted value, shown at once but unconfirmed. Ignored (null) when the replica
   * already holds a version at or above it.
   */
  restore(saved: SavedState): StateAction[] {
    if (this._version !== null && this._version >= saved.version) return [];
    this._value = saved.value;
    this._version = saved.version;
    this._confirmed = false;
    this.fresh = true;
    return [{ type: 'change', change: { scope: this.scope, value: this._value, version: saved.version, source: 'restored', confirmed: false } }];
  }

  /**
   * Forget the version (after `NEW_SESSION`, or when the server's history of the scope is gone):
   * the value stays on display, unconfirmed, and the next full update is taken whatever its
   * version.
   */
  reset(): void {
    this._version = null;
    this._confirmed = false;
    this.resyncPending = false;
  }

  /** The connection dropped: a resync asked on it will not be answered, ask again if needed. */
  connectionLost(): void {
    this.resyncPending = false;
    this.fresh = true;
  }

  /** Apply one `STATE_UPDATE` for this scope; returns what to do and how it was treated. */
  receive(frame: StateUpdateFrame): { outcome: ReceiveOutcome; actions: StateAction[] } {
    if (frame.scope !== this.scope) return { outcome: 'wrong_scope', actions: [] };
    const held = this._version;
    const fresh = this.fresh;
    this.fresh = false;
    if (frame.full !== undefined) {
      if (held === null || frame.version > held) return this.accept(frame.full, frame.version, frame.reason, 'applied');
      // The first answer on a new connection is the server's current state: a lower version there
      // means the server lost the scope's history (e.g. an evicted key), and its word is final.
      if (fresh && frame.reason !== 'live' && frame.version < held) return this.accept(frame.full, frame.version, frame.reason, 'rewound');
      // The same version again confirms a restored value; the server's value is the truth.
      if (frame.version === held && !this._confirmed) return this.accept(frame.full, frame.version, frame.reason, 'confirmed');
      return { outcome: 'stale', actions: [this.ack()] };
    }
    const base = frame.base;
    if (held !== null && frame.version <= held) {
      // An empty patch from the held version to itself is how a resume confirms an unchanged scope.
      if (frame.version === held && base === held && !this._confirmed) return this.accept(this._value, held, frame.reason, 'confirmed');
      return { outcome: 'stale', actions: [this.ack()] };
    }
    if (held === null || base !== held || frame.patch === undefined) return this.gap('gap');
    let next: Json;
    try {
      next = applyPatch(this._value, frame.patch);
    } catch {
      return this.gap('bad_patch');
    }
    return this.accept(next, frame.version, frame.reason, 'applied');
  }

  private accept(value: Json, version: number, reason: StateUpdateReason, outcome: ReceiveOutcome): { outcome: ReceiveOutcome; actions: StateAction[] } {
    const changed = outcome !== 'confirmed' || value !== this._value || !this._confirmed;
    this._value = value;
    this._version = version;
    this._confirmed = true;
    this.resyncPending = false;
    this.persist?.(this.scope, { value, version });
    const actions: StateAction[] = [];
    if (changed) actions.push({ type: 'change', change: { scope: this.scope, value, version, source: reason, confirmed: true } });
    actions.push(this.ack());
    return { outcome, actions };
  }

  private ack(): StateAction {
    return { type: 'send', frame: { type: 'STATE_ACK', scope: this.scope, version: this._version ?? 0 } };
  }

  private gap(outcome: 'gap' | 'bad_patch'): { outcome: ReceiveOutcome; actions: StateAction[] } {
    // One resync at a time: later patches that do not fit are dropped until the full answer.
    if (this.resyncPending) return { outcome, actions: [] };
    this.resyncPending = true;
    const frame: StateResyncFrame = { type: 'STATE_RESYNC', scope: this.scope };
    if (this._version !== null) frame.version = this._version;
    return { outcome, actions: [{ type: 'send', frame }] };
  }
}
