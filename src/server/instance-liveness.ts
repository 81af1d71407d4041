/**
 * Instance liveness on a shared store: each instance refreshes a heartbeat with a TTL, and
 * detaches the sessions of instances whose heartbeat lapsed (killed, frozen, cut from Redis), so
 * those sessions expire normally and `sessionExpired` runs even if their clients never return.
 */
import type { Hub } from './hub.js';
import { errorMessage, isStoreUnavailable } from './hub.js';

/** Sessions of dead instances detached per store call (one short Lua script each). */
const RECLAIM_BATCH = 100;
/** Store calls per heartbeat at most: up to 5,000 sessions per instance and beat. */
const RECLAIM_ROUNDS = 50;

/** Heartbeat and reclaim loop of one instance; does nothing on a store without liveness. @internal */
export class InstanceLiveness {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private beats = 0;

  constructor(private readonly hub: Hub) {}

  /** Whether the store supports liveness (shared stores do; `MemoryStore` does not need it). */
  get enabled(): boolean {
    return typeof this.hub.store.heartbeat === 'function' && typeof this.hub.store.reclaimSessions === 'function';
  }

  /** Beat now, then every `instanceHeartbeatInterval`. */
  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.hub.options.instanceHeartbeatInterval);
    this.timer.unref();
  }

  /** Stop beating (the liveness key then lapses after `instanceTtl`). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One heartbeat, then one reclaim round. Never throws; resolves when done. */
  tick(): Promise<void> {
    this.running ??= this.beat().finally(() => (this.running = undefined));
    return this.running;
  }

  private async beat(): Promise<void> {
    const { store, instanceId, options } = this.hub;
    const { logger } = options;
    try {
      const wasAlive = await store.heartbeat!(instanceId, options.instanceTtl);
      if (!wasAlive && this.beats > 0) {
        logger.warn({ instanceId, instanceTtl: options.instanceTtl }, 'this instance missed its heartbeats long enough to look dead: re-asserting its sessions');
      }
      this.beats++;
      if (!wasAlive) await this.reassert();
      for (let round = 0; round < RECLAIM_ROUNDS; round++) {
        const ids = await store.reclaimSessions!(Date.now(), options.sessionTtl, options.instanceTtl, RECLAIM_BATCH);
        if (ids.length > 0) logger.info({ count: ids.length, sessionTtl: options.sessionTtl }, 'detached sessions held by a dead instance; they expire unless resumed');
        if (ids.length < RECLAIM_BATCH) break;
      }
    } catch (err) {
      // Redis trouble is already logged by the store's availability reports.
      if (isStoreUnavailable(err)) logger.debug({ err: errorMessage(err) }, 'instance heartbeat failed');
      else logger.warn({ err: errorMessage(err) }, 'instance heartbeat failed');
    }
  }

  /**
   * After our liveness lapsed, another instance may have detached our sessions (they would then
   * expire under live connections). Attach them again where they are still detached; a
   * connection whose session ended or moved meanwhile is closed, and its client resumes.
   */
  private async reassert(): Promise<void> {
    const { store, connections, sessions } = this.hub;
    const { logger } = this.hub.options;
    for (const conn of [...connections.values()]) {
      const id = conn.session?.id;
      if (id === undefined || conn.phase !== 'open' || sessions.get(id) !== conn) continue;
      const record = await store.getSession(id);
      if (record !== null && record.owner === conn.owner) continue;
      if (record !== null && record.owner === null && (await store.attachSession(id, conn.owner)) !== undefined) continue;
      logger.info({ sessionId: id }, 'session ended or moved while this instance looked dead: closing its connection');
      conn.fail('ERR_STORE_UNAVAILABLE', 'the session must be resumed again; retry');
    }
  }
}
