/**
 * Client heartbeats. Browsers cannot send WebSocket pings, so the client sends protocol `PING`
 * frames and watches for *any* incoming frame: a connection that stays silent for `timeout` ms
 * after a ping is dead even if the OS still believes the TCP connection is up (half-open after a
 * network change, a sleeping laptop, a NAT that dropped the mapping).
 */
import type { Timers } from './timers.js';

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** Ping period (ms). */
  interval: number;
  /** Silence after a ping that declares the connection dead (ms). */
  timeout: number;
  timers: Timers;
  /** Send one ping. */
  ping(): void;
  /** The connection is dead. */
  onTimeout(): void;
}

/** One connection's heartbeat. */
export class Heartbeat {
  readonly #o: HeartbeatOptions;
  #pingTimer: unknown;
  #deadline: unknown;
  #running = false;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  /** Start pinging every `interval`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  /** Ping now (page became visible again, network came back) without waiting for the period. */
  pingNow(): void {
    if (!this.#running) return;
    this.#o.timers.clearTimeout(this.#pingTimer);
    this.#tick();
  }

  /** Something arrived: the connection is alive. */
  received(): void {
    if (this.#deadline !== undefined) {
      this.#o.timers.clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
  }

  /** Stop all timers. */
  stop(): void {
    this.#running = false;
    this.#o.timers.clearTimeout(this.#pingTimer);
    this.#o.timers.clearTimeout(this.#deadline);
    this.#pingTimer = undefined;
    this.#deadline = undefined;
  }

  #schedule(): void {
    this.#pingTimer = this.#o.timers.setTimeout(() => this.#tick(), this.#o.interval);
  }

  #tick(): void {
    if (!this.#running) return;
    // Keep the first unanswered deadline: re-arming it on every ping would let a connection that
    // is silent forever live as long as pings keep being sent.
    if (this.#deadline === undefined) {
      this.#deadline = this.#o.timers.setTimeout(() => {
        this.#deadline = undefined;
        if (!this.#running) return;
        this.stop();
        this.#o.onTimeout();
      }, this.#o.timeout);
    }
    this.#o.ping();
    if (this.#running) this.#schedule();
  }
}
