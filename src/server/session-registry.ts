/**
 * Sessions attached to this instance, the expiry sweeper and the end of a session.
 */
import { sessionStream } from '../protocol/index.js';
import type { SessionRecord, Store } from './stores/store.js';
import type { Connection } from './connection.js';
import type { Logger, SessionEndReason, SessionExpired } from './options.js';
import type { StateService } from './state-service.js';
import { errorMessage } from './hub.js';

/** Sessions expired per store call. */
const SWEEP_BATCH = 100;

/** Local session bookkeeping. @internal */
export class SessionRegistry {
  /** Sessions held by a connection of this instance. */
  private readonly attached = new Map<string, Connection>();
  /**
   * Last record of sessions this instance detached, for the `sessionExpired` hook; empty without
   * a hook (a detached session then costs this instance nothing).
   */
  private readonly detached = new Map<string, { record: SessionRecord; at: number }>();
  /** Resumes in progress per session: racing resumes on this instance run one after the other. */
  private readonly locks = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly store: Store,
    private readonly state: StateService,
    private readonly ttl: number,
    private readonly hook: SessionExpired | undefined,
    private readonly logger: Logger,
    /** ms an expired session's tombstone is kept (`tombstoneTtl`); 0 keeps none. */
    private readonly tombstoneTtl = 0,
  ) {}

  /** Number of sessions attached here. */
  get size(): number {
    return this.attached.size;
  }

  /** The local connection holding a session. */
  get(sessionId: string): Connection | undefined {
    return this.attached.get(sessionId);
  }

  /**
   * Run `task` once every earlier task for the same session id has settled, so two connections
   * resuming one session cannot interleave their token rotation and attach.
   */
  async exclusive<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sessionId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    this.locks.set(sessionId, chained);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.locks.get(sessionId) === chained) this.locks.delete(sessionId);
    }
  }

  /** Whether `release` wants the detached session's record (only the `sessionExpired` hook reads it). */
  get keepsRecords(): boolean {
    return this.hook !== undefined;
  }

  /** Record that `conn` holds its session. */
  attach(conn: Connection): void {
    if (conn.session) {
      this.attached.set(conn.session.id, conn);
      this.detached.delete(conn.session.id);
    }
  }

  /** Forget `conn`'s hold on its session (if it still has it); keep its record for the hook. */
  release(conn: Connection, record: SessionRecord | null): void {
    const id = conn.session?.id;
    if (id === undefined || this.attached.get(id) !== conn) return;
    this.attached.delete(id);
    if (record && this.hook) this.detached.set(id, { record, at: Date.now() });
  }

  /** End a session now (`BYE`): delete it, its direct stream and its state; call the hook. */
  async end(sessionId: string, record: SessionRecord | null, reason: SessionEndReason): Promise<void> {
    this.attached.delete(sessionId);
    this.detached.delete(sessionId);
    if (reason === 'bye') await this.store.deleteSession(sessionId);
    else if (this.tombstoneTtl > 0) await this.store.markExpired?.(sessionId, this.tombstoneTtl);
    await this.store.deleteStream(sessionStream(sessionId));
    await this.state.onSessionEnd(sessionId);
    await this.callHook(sessionId, record, reason);
  }

  /** Start sweeping expired sessions every `interval` ms. */
  start(interval: number): void {
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  /** Stop the sweeper. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Take the expired sessions (each goes to exactly one instance) and end them. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    let ended = 0;
    try {
      for (let round = 0; round < 10; round++) {
        const ids = await this.store.takeExpiredSessions(now, SWEEP_BATCH);
        // Tombstones for the whole batch first: a late resume of one of them, arriving while the
        // batch is ended one by one, is then told `expired` rather than `unknown`.
        if (this.tombstoneTtl > 0 && ids.length > 0) await Promise.all(ids.map((id) => this.store.markExpired?.(id, this.tombstoneTtl)));
        for (const id of ids) {
          const known = this.detached.get(id);
          try {
            await this.end(id, known?.record ?? null, 'expired');
            ended++;
          } catch (err) {
            this.logger.warn({ sessionId: id, err: errorMessage(err) }, 'could not clean up an expired session');
          }
        }
        if (ids.length < SWEEP_BATCH) break;
      }
      // Records of sessions another instance resumed would otherwise stay here for ever.
      for (const [id, { at }] of this.detached) if (at < now - 2 * this.ttl) this.detached.delete(id);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'session sweep failed');
    } finally {
      this.sweeping = false;
    }
    return ended;
  }

  private async callHook(sessionId: string, record: SessionRecord | null, reason: SessionEndReason): Promise<void> {
    if (!this.hook) return;
    try {
      await this.hook(sessionId, record, reason);
    } catch (err) {
      this.logger.error({ sessionId, err: errorMessage(err) }, 'sessionExpired hook threw');
    }
  }
}
