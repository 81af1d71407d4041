/**
 * What one connection sends of the state scopes it follows: live updates in version order (never
 * backwards, never two in flight for a scope), recovery after a resume, full values on resync,
 * and the latest unacknowledged version again after `retransmitMs`. No sockets and no timers:
 * the connection calls `tick()` from its own timer (`nextDeadline()` says when).
 */
import type { StateUpdateFrame, StateUpdateReason } from '../../protocol/frames.js';
import { ResilientSocketError } from '../../protocol/errors.js';
import type { StateChanges } from './state-engine.js';

/** Options of `StateFeed`. */
export interface StateFeedOptions {
  /**
   * What a client at `fromVersion` (null: nothing) needs: `StateEngine.changesSince`
   * (`knownVersion`: the latest version notified, so a cache at it need not ask the store).
   */
  changesSince: (storeScope: string, fromVersion: number | null, knownVersion?: number) => Promise<StateChanges>;
  /** Put a frame on the connection. */
  send: (frame: StateUpdateFrame) => void;
  /** The store scope of a protocol scope (`session` → `session:<id>`; rooms are the same). */
  toStoreScope: (scope: string) => string;
  /** Re-send the latest version as a full update when unacknowledged this long, ms (default 5000). */
  retransmitMs?: number;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Told when reading a scope fails; the scope is retried on the next `tick()`. Default: ignored. */
  onError?: (err: unknown, scope: string) => void;
}

interface Want {
  reason: StateUpdateReason;
  /** Send the full value, whatever the client holds. */
  full: boolean;
  /** Send even an empty patch (it confirms the client's version after a resume). */
  confirm: boolean;
}

interface Followed {
  /** The version the client holds or has been sent (null: nothing). */
  sent: number | null;
  acked: number | null;
  sentAt: number;
  busy: boolean;
  /** A pass requested while one was running. */
  next: Want | null;
  /** The last pass failed: retry on tick. */
  failed: boolean;
  /** The highest version a notification announced. */
  known: number | undefined;
  /** `sent` is the version the client claimed on resume, not one this feed sent. */
  claimed: boolean;
}

const RANK: Record<StateUpdateReason, number> = { live: 0, recovery: 1, resync: 2 };

function merge(a: Want | null, b: Want): Want {
  if (a === null) return b;
  return { reason: RANK[b.reason] > RANK[a.reason] ? b.reason : a.reason, full: a.full || b.full, confirm: a.confirm || b.confirm };
}

/** One connection's state delivery. */
export class StateFeed {
  private readonly opts: Required<StateFeedOptions>;
  private readonly scopes = new Map<string, Followed>();

  constructor(options: StateFeedOptions) {
    for (const name of ['changesSince', 'send', 'toStoreScope'] as const) {
      if (typeof options?.[name] !== 'function') throw new ResilientSocketError('ERR_INVALID_OPTION', `options.${name} must be a function`);
    }
    const retransmitMs = options.retransmitMs ?? 5000;
    if (!Number.isSafeInteger(retransmitMs) || retransmitMs < 1) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'options.retransmitMs must be a positive integer (ms)');
    }
    this.opts = { ...options, retransmitMs, now: options.now ?? Date.now, onError: options.onError ?? (() => {}) };
  }

  /** The scopes followed. */
  followed(): string[] {
    return [...this.scopes.keys()];
  }

  /**
   * Start following `scope` for a client holding `clientVersion` (from `RECONNECT.state`, or
   * null after a join / new session) and send what it lacks: after a resume (`recovery`) even an
   * empty patch, which confirms a restored value.
   */
  follow(scope: string, clientVersion: number | null, reason: StateUpdateReason = 'recovery'): Promise<void> {
    if (!this.scopes.has(scope)) {
      this.scopes.set(scope, { sent: clientVersion, acked: clientVersion, sentAt: this.opts.now(), busy: false, next: null, failed: false, known: undefined, claimed: clientVersion !== null });
    }
    return this.pump(scope, { reason, full: clientVersion === null, confirm: true });
  }

  /** Stop following `scope` (room left). */
  unfollow(scope: string): void {
    this.scopes.delete(scope);
  }

  /** A new version of `scope` exists (`store.subscribeState`): send the change if not sent yet. */
  notify(scope: string, version: number): Promise<void> {
    const f = this.scopes.get(scope);
    if (f === undefined || (f.sent !== null && version <= f.sent)) return Promise.resolve();
    if (f.known === undefined || version > f.known) f.known = version;
    return this.pump(scope, { reason: 'live', full: false, confirm: false });
  }

  /** `STATE_ACK` from the client. */
  ack(scope: string, version: number): void {
    const f = this.scopes.get(scope);
    if (f !== undefined && (f.acked === null || version > f.acked)) f.acked = version;
  }

  /** `STATE_RESYNC` from the client: send the full value. */
  resync(scope: string): Promise<void> {
    if (!this.scopes.has(scope)) return Promise.resolve();
    return this.pump(scope, { reason: 'resync', full: true, confirm: true });
  }

  /** When `tick()` has something to do next (ms since epoch), or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const f of this.scopes.values()) {
      const due = f.failed ? f.sentAt : this.unacked(f) ? f.sentAt + this.opts.retransmitMs : null;
      if (due !== null && (next === null || due < next)) next = due;
    }
    return next;
  }

  /** Retransmit, as full updates, the scopes whose latest version went unacknowledged too long. */
  async tick(): Promise<void> {
    const now = this.opts.now();
    const passes: Promise<void>[] = [];
    for (const [scope, f] of this.scopes) {
      if (f.failed || (this.unacked(f) && now - f.sentAt >= this.opts.retransmitMs)) {
        passes.push(this.pump(scope, { reason: 'live', full: true, confirm: true }));
      }
    }
    await Promise.all(passes);
  }

  private unacked(f: Followed): boolean {
    return f.sent !== null && (f.acked === null || f.acked < f.sent);
  }

  /** One pass at a time per scope; requests arriving meanwhile are merged into the next pass. */
  private async pump(scope: string, want: Want): Promise<void> {
    const f = this.scopes.get(scope);
    if (f === undefined) return;
    if (f.busy) {
      f.next = merge(f.next, want);
      return;
    }
    f.busy = true;
    let current: Want | null = want;
    try {
      while (current !== null && this.scopes.get(scope) === f) {
        await this.pass(scope, f, current);
        current = f.next;
        f.next = null;
      }
    } finally {
      f.busy = false;
    }
  }

  private async pass(scope: string, f: Followed, want: Want): Promise<void> {
    let changes: StateChanges;
    try {
      const from = want.full ? null : f.sent;
      changes = await (f.known === undefined ? this.opts.changesSince(this.opts.toStoreScope(scope), from) : this.opts.changesSince(this.opts.toStoreScope(scope), from, f.known));
    } catch (err) {
      f.failed = true;
      f.sentAt = this.opts.now();
      this.opts.onError(err, scope);
      return;
    }
    f.failed = false;
    if (this.scopes.get(scope) !== f) return;
    // Never move a connection backwards: an older read lost a race with a newer send. A version
    // the client claimed on resume that the server never reached is void: send the full value.
    if (f.sent !== null && changes.version < f.sent && !want.full) {
      if (f.claimed) await this.pass(scope, f, { ...want, full: true });
      return;
    }
    const frame: StateUpdateFrame =
      changes.full !== undefined
        ? { type: 'STATE_UPDATE', scope, version: changes.version, full: changes.full, reason: want.reason }
        : { type: 'STATE_UPDATE', scope, version: changes.version, base: changes.base, patch: changes.patch, reason: want.reason };
    if (frame.patch !== undefined && frame.patch.length === 0 && !want.confirm) return;
    f.sent = changes.version;
    f.claimed = false;
    f.sentAt = this.opts.now();
    this.opts.send(frame);
  }
}
