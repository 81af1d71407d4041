/**
 * The client's versioned state across scopes: the socket feeds it `STATE_UPDATE` frames and
 * connection events, and carries out the actions it returns (send `STATE_ACK` / `STATE_RESYNC`,
 * emit a `change`). Pure: no socket, no timers; storage is reached through `persist`.
 */
import type { Json, StateUpdateFrame } from '../protocol/frames.js';
import { ResilientSocketError } from '../protocol/errors.js';
import { StateReplica } from './state-replica.js';
import type { ReceiveOutcome, SavedState, StateAction, StateChange } from './state-replica.js';

export { StateReplica } from './state-replica.js';
export type { ReceiveOutcome, SavedState, StateAction, StateChange, StateChangeSource } from './state-replica.js';

/** Options of `StateSync`. */
export interface StateSyncOptions {
  /**
   * Called with every value and version a scope accepts, to be written to storage (the socket
   * keeps `{ value, version }` per scope there). Default: nothing is persisted.
   */
  persist?: (scope: string, saved: SavedState) => void;
  /** Called when a scope is dropped (`forget`), to delete it from storage. Default: nothing. */
  remove?: (scope: string) => void;
  /**
   * Most scopes held at once (default 1000): a server sending updates for ever more scopes
   * cannot grow the client without bound. Updates for further scopes are ignored.
   */
  maxScopes?: number;
}

/** Every scope's replica, keyed by scope. */
export class StateSync {
  private readonly replicas = new Map<string, StateReplica>();
  private readonly persist: ((scope: string, saved: SavedState) => void) | undefined;
  private readonly remove: ((scope: string) => void) | undefined;
  private readonly maxScopes: number;

  constructor(options: StateSyncOptions = {}) {
    const maxScopes = options.maxScopes ?? 1000;
    if (!Number.isSafeInteger(maxScopes) || maxScopes < 1) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.maxScopes must be a positive integer');
    }
    for (const name of ['persist', 'remove'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') {
        throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be a function`);
      }
    }
    this.persist = options.persist;
    this.remove = options.remove;
    this.maxScopes = maxScopes;
  }

  /** The replica of `scope`, or undefined when nothing is held for it. */
  replica(scope: string): StateReplica | undefined {
    return this.replicas.get(scope);
  }

  /** Current value, version and confirmation of `scope`, or null when none is held. */
  get(scope: string): { value: Json; version: number; confirmed: boolean } | null {
    const r = this.replicas.get(scope);
    if (r === undefined || r.version === null) return null;
    return { value: r.value, version: r.version, confirmed: r.confirmed };
  }

  /** The scopes held, as `StateChange`s with `source` (for late listeners). */
  current(source: StateChange['source'] = 'restored'): StateChange[] {
    const out: StateChange[] = [];
    for (const r of this.replicas.values()) {
      const s = r.snapshot(source);
      if (s !== null) out.push(s);
    }
    return out;
  }

  /** Versions to send in `RECONNECT.state`: every scope holding a version. */
  versions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.replicas.values()) if (r.version !== null) out[r.scope] = r.version;
    return out;
  }

  /** Load persisted scopes (page reload, process restart): shown at once, unconfirmed. */
  restore(saved: Record<string, SavedState>): StateAction[] {
    const actions: StateAction[] = [];
    for (const [scope, s] of Object.entries(saved)) {
      if (!isSavedState(s)) continue;
      const r = this.ensure(scope);
      if (r !== undefined) actions.push(...r.restore(s));
    }
    return actions;
  }

  /** Apply a `STATE_UPDATE`; returns the actions to carry out, in order. */
  receive(frame: StateUpdateFrame): { outcome: ReceiveOutcome | 'too_many_scopes'; actions: StateAction[] } {
    const r = this.ensure(frame.scope);
    if (r === undefined) return { outcome: 'too_many_scopes', actions: [] };
    return r.receive(frame);
  }

  /** The connection dropped: outstanding resync requests are void. */
  connectionLost(): void {
    for (const r of this.replicas.values()) r.connectionLost();
  }

  /**
   * The server started a new session (`NEW_SESSION`): every version held is void. Values stay
   * (unconfirmed) until the server sends the scopes again.
   */
  reset(): void {
    for (const r of this.replicas.values()) r.reset();
  }

  /** Drop a scope (the room was left): no more updates are expected for it. */
  forget(scope: string): void {
    if (this.replicas.delete(scope)) this.remove?.(scope);
  }

  private ensure(scope: string): StateReplica | undefined {
    let r = this.replicas.get(scope);
    if (r === undefined) {
      if (this.replicas.size >= this.maxScopes) return undefined;
      r = new StateReplica(scope, this.persist);
      this.replicas.set(scope, r);
    }
    return r;
  }
}

function isSavedState(v: unknown): v is SavedState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as { value?: unknown; version?: unknown };
  return s.value !== undefined && Number.isSafeInteger(s.version) && (s.version as number) >= 0;
}
