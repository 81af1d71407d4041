/**
 * The state service the reference server plugs in (`createServer({ stateService })`): a
 * `StateEngine` for the process and a `StateFeed` per connection, wired to the core's hooks as
 * docs/state.md ("Wiring") describes.
 */
import type { Json, ServerFrame, StateEventFrame } from '../../protocol/frames.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import type { ErrorCode } from '../../protocol/errors.js';
import type { StateConnection, StateFrame, StateService, StateServiceDeps, StateServiceFactory } from '../state-service.js';
import type { AdvanceResult, VersionListener } from '../stores/store.js';
import { StateEngine } from './state-engine.js';
import type { StateEngineOptions } from './engine-options.js';
import { StateFeed } from './state-feed.js';

/** Options of `engineStateService`: the engine's (without `store`, the server's is used) and these. */
export interface EngineStateServiceOptions extends Omit<StateEngineOptions, 'store'> {
  /** Re-send an unacknowledged state version as a full update after this many ms (default 5000). */
  stateRetransmit?: number;
  /** Give every session a private `session` scope (default true). */
  sessionState?: boolean;
  /** Give every room a shared `room:<name>` scope (default true). */
  roomState?: boolean;
}

/**
 * What the reducer receives as `event` for a client's `STATE_EVENT`: the sender is part of the
 * stored event, so replays (in other processes, in workers) decide exactly as the first fold did.
 */
export interface StateEventEnvelope {
  [key: string]: Json;
  /** The sending session. */
  from: string;
  /** The sender's user id, or null. */
  user: string | null;
  /** The `event` of the frame, as the client sent it. */
  data: Json;
}

interface Followed {
  storeScope: string;
  listener: VersionListener;
}

interface ConnState {
  conn: StateConnection;
  feed: StateFeed;
  scopes: Map<string, Followed>;
  timer: NodeJS.Timeout | undefined;
  closed: boolean;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Build the state service factory to pass as `createServer({ stateService })`. */
export function engineStateService(options: EngineStateServiceOptions): StateServiceFactory {
  const retransmit = options.stateRetransmit ?? 5000;
  if (!Number.isSafeInteger(retransmit) || retransmit < 1) {
    throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.stateRetransmit must be a positive integer (ms)');
  }
  for (const name of ['sessionState', 'roomState'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be a boolean`);
    }
  }
  return (deps) => new EngineStateService(deps, options, retransmit);
}

class EngineStateService implements StateService {
  readonly engine: StateEngine;
  private readonly deps: StateServiceDeps;
  private readonly connections = new Map<string, ConnState>();
  private readonly retransmit: number;
  private readonly sessionState: boolean;
  private readonly roomState: boolean;
  private readonly onError: (err: Error) => void;

  constructor(deps: StateServiceDeps, options: EngineStateServiceOptions, retransmit: number) {
    const { stateRetransmit: _r, sessionState, roomState, ...engineOptions } = options;
    this.engine = new StateEngine({ ...engineOptions, store: deps.store });
    this.deps = deps;
    this.retransmit = retransmit;
    this.sessionState = sessionState ?? true;
    this.roomState = roomState ?? true;
    this.onError = options.onError ?? (() => {});
  }

  async onHandshake(conn: StateConnection, clientVersions: Record<string, number>): Promise<void> {
    if (!conn.followsState) return;
    const s = this.stateOf(conn);
    const scopes: string[] = [];
    if (this.sessionState) scopes.push('session');
    if (this.roomState) for (const room of conn.rooms) scopes.push(`room:${room}`);
    for (const scope of scopes) {
      if (s.scopes.has(scope)) continue;
      const known = Object.prototype.hasOwnProperty.call(clientVersions, scope);
      await this.follow(s, scope, known ? (clientVersions[scope] as number) : null, known ? 'recovery' : 'live');
    }
  }

  async onJoin(conn: StateConnection, room: string): Promise<void> {
    if (!this.roomState || !conn.followsState) return;
    const s = this.stateOf(conn);
    if (!s.scopes.has(`room:${room}`)) await this.follow(s, `room:${room}`, null, 'live');
  }

  async onLeave(conn: StateConnection, room: string): Promise<void> {
    const s = this.connections.get(conn.id);
    if (s !== undefined) await this.unfollow(s, `room:${room}`);
  }

  async onFrame(conn: StateConnection, frame: StateFrame): Promise<void> {
    const s = this.stateOf(conn);
    if (frame.type === 'STATE_ACK') {
      s.feed.ack(frame.scope, frame.version);
      this.arm(s);
      return;
    }
    if (frame.type === 'STATE_RESYNC') {
      if (!s.scopes.has(frame.scope)) {
        conn.send({ type: 'ERROR', code: 'ERR_NO_STATE', message: `no state is followed for scope ${JSON.stringify(frame.scope)}`, scope: frame.scope });
        return;
      }
      await s.feed.resync(frame.scope);
      this.arm(s);
      return;
    }
    await this.stateEvent(conn, frame);
  }

  async onClose(conn: StateConnection): Promise<void> {
    const s = this.connections.get(conn.id);
    if (s === undefined) return;
    this.connections.delete(conn.id);
    s.closed = true;
    clearTimeout(s.timer);
    for (const scope of [...s.scopes.keys()]) await this.unfollow(s, scope);
  }

  async onSessionEnd(sessionId: string): Promise<void> {
    if (this.sessionState) await this.engine.delete(`session:${sessionId}`);
  }

  async close(): Promise<void> {
    for (const s of [...this.connections.values()]) await this.onClose(s.conn);
    await this.engine.close();
  }

  // ---------------------------------------------------------------- internals

  private stateOf(conn: StateConnection): ConnState {
    let s = this.connections.get(conn.id);
    if (s === undefined) {
      const sessionId = conn.sessionId;
      const state: ConnState = {
        conn,
        scopes: new Map(),
        timer: undefined,
        closed: false,
        feed: new StateFeed({
          changesSince: (scope, from, known) => this.engine.changesSince(scope, from, known),
          send: (frame) => {
            if (!state.closed) conn.send(frame);
          },
          toStoreScope: (scope) => (scope === 'session' ? `session:${sessionId}` : scope),
          retransmitMs: this.retransmit,
          onError: (err) => this.onError(asError(err)),
        }),
      };
      s = state;
      this.connections.set(conn.id, s);
    }
    return s;
  }

  /** The store scope `conn` may write through `scope`, or the code refusing it. */
  private target(conn: StateConnection, scope: string): { storeScope: string } | { refused: ErrorCode } {
    if (scope === 'session') return this.sessionState ? { storeScope: `session:${conn.sessionId}` } : { refused: 'ERR_NO_STATE' };
    if (scope.startsWith('room:') && this.roomState) {
      return conn.rooms.has(scope.slice('room:'.length)) ? { storeScope: scope } : { refused: 'ERR_NOT_IN_ROOM' };
    }
    return { refused: 'ERR_NO_STATE' };
  }

  private async stateEvent(conn: StateConnection, frame: StateEventFrame): Promise<void> {
    const { seq, scope } = frame;
    const target = this.target(conn, scope);
    if ('refused' in target) {
      await this.refuse(conn, seq, target.refused, `cannot write state scope ${JSON.stringify(scope)}`);
      return;
    }
    const event: StateEventEnvelope = { from: conn.sessionId, user: conn.user, data: frame.event };
    let result;
    try {
      result = await this.engine.append(target.storeScope, event, { dedup: { sessionId: conn.sessionId, seq } });
    } catch (err) {
      if (err instanceof ResilientSocketError && err.code === 'ERR_STATE_REJECTED') {
        await this.refuse(conn, seq, 'ERR_STATE_REJECTED', err.message);
        return;
      }
      throw err;
    }
    if (result.status === 'appended') conn.send({ type: 'ACK', seq, version: result.version });
    else this.answerDedup(conn, seq, result);
  }

  /** Consume `seq` without appending and acknowledge it with `error` (a duplicate: plain ack). */
  private async refuse(conn: StateConnection, seq: number, code: ErrorCode, message: string): Promise<void> {
    const r = await this.deps.advanceSeq(conn.sessionId, seq);
    if (r.status === 'ok') conn.send({ type: 'ACK', seq, error: { code, message } });
    else this.answerDedup(conn, seq, r);
  }

  private answerDedup(conn: StateConnection, seq: number, r: Exclude<AdvanceResult, { status: 'ok' }>): void {
    let frame: ServerFrame;
    if (r.status === 'duplicate') frame = { type: 'ACK', seq };
    else if (r.status === 'out_of_order') frame = { type: 'ERROR', code: 'ERR_OUT_OF_ORDER', message: `seq ${seq} skips ahead: expected ${r.lastSeq + 1}`, seq };
    else frame = { type: 'ERROR', code: 'ERR_SESSION_UNKNOWN', message: 'the session no longer exists', seq };
    conn.send(frame);
  }

  private async follow(s: ConnState, scope: string, clientVersion: number | null, reason: 'live' | 'recovery'): Promise<void> {
    const storeScope = scope === 'session' ? `session:${s.conn.sessionId}` : scope;
    const listener: VersionListener = (_scope, version) => {
      void s.feed.notify(scope, version).then(() => this.arm(s));
    };
    const followed: Followed = { storeScope, listener };
    s.scopes.set(scope, followed);
    // Subscribe first: a version appended while the catch-up is read is then notified, not missed.
    await this.deps.store.subscribeState(storeScope, listener);
    if (s.closed || s.scopes.get(scope) !== followed) {
      // Closed or left while subscribing: the unsubscribe may have run before the subscribe.
      await this.deps.store.unsubscribeState(storeScope, listener);
      return;
    }
    await s.feed.follow(scope, clientVersion, reason);
    this.arm(s);
  }

  private async unfollow(s: ConnState, scope: string): Promise<void> {
    const f = s.scopes.get(scope);
    if (f === undefined) return;
    s.scopes.delete(scope);
    s.feed.unfollow(scope);
    try {
      await this.deps.store.unsubscribeState(f.storeScope, f.listener);
    } catch (err) {
      this.onError(asError(err));
    }
  }

  /** One retransmission timer per connection, at the feed's next deadline. */
  private arm(s: ConnState): void {
    if (s.closed) return;
    clearTimeout(s.timer);
    s.timer = undefined;
    const deadline = s.feed.nextDeadline();
    if (deadline === null) return;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void s.feed.tick().then(() => this.arm(s));
    }, Math.max(0, deadline - Date.now()));
    s.timer.unref();
  }
}
