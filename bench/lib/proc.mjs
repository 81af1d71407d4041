// Child processes of the bench: forked with an IPC channel, driven by request/reply messages,
// and killed only by the pid we started. Every request has a deadline.
import { fork } from 'node:child_process';

const started = new Map(); // pid -> child

/** Kill every process this run started that is still alive (by pid, never by name). */
export function killAll(signal = 'SIGKILL') {
  for (const [pid, child] of started) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    started.delete(pid);
  }
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => killAll());
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * A forked worker. `request(cmd, args, timeoutMs)` resolves with the worker's reply;
 * `next(event, timeoutMs)` waits for an event the worker emits on its own.
 */
export class Worker {
  /**
   * @param {string} script absolute path
   * @param {{args?: string[], execArgv?: string[], env?: object, name?: string}} [opts]
   */
  constructor(script, { args = [], execArgv = [], env = {}, name = script } = {}) {
    hookExit();
    this.name = name;
    this.child = fork(script, args, {
      execArgv,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    this.pid = this.child.pid;
    started.set(this.pid, this.child);
    this.seq = 0;
    this.pending = new Map();
    this.waiters = [];
    this.events = [];
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        started.delete(this.pid);
        for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    this.child.on('message', (m) => this.#onMessage(m));
  }

  #onMessage(m) {
    if (m && m.re !== undefined) {
      const p = this.pending.get(m.re);
      if (!p) return;
      this.pending.delete(m.re);
      clearTimeout(p.timer);
      if (m.error) p.reject(new Error(`${this.name}: ${m.error}`));
      else p.resolve(m.result);
      return;
    }
    if (m && m.event) {
      const i = this.waiters.findIndex((w) => w.event === m.event);
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(m.data);
      } else {
        this.events.push(m);
      }
    }
  }

  /** Send a command and wait for its reply (rejects after `timeoutMs`). */
  request(cmd, args = {}, timeoutMs = 60_000) {
    const re = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(re);
        reject(new Error(`${this.name}: '${cmd}' timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(re, { resolve, reject, timer });
      this.child.send({ re, cmd, args });
    });
  }

  /** Wait for an event the worker emits (already-received events count). */
  next(event, timeoutMs = 60_000) {
    const i = this.events.findIndex((m) => m.event === event);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0].data);
    return new Promise((resolve, reject) => {
      const w = { event, resolve, timer: null };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no '${event}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Signal this worker (by its pid) and wait for it to exit, at most `timeoutMs`. */
  async kill(signal = 'SIGTERM', timeoutMs = 5_000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      return;
    }
    const t = new Promise((r) => setTimeout(r, timeoutMs, 'timeout'));
    if ((await Promise.race([this.exited, t])) === 'timeout') {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
      await this.exited;
    }
  }
}
