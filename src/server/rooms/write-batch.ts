/**
 * Coalescing of socket writes: every frame written to a socket while the server handles one I/O
 * event (a read with several frames, their appends and fan-outs) leaves in one `writev` once that
 * work is done, instead of one system call per frame.
 */
import type { Socket } from 'node:net';

/** Something holding a corked socket, uncorked when the batch ends. @internal */
export interface Corked {
  uncork(): void;
}

/**
 * Sockets corked for the current batch. A fan-out writes one frame to each of many sockets; the
 * next entry, usually from the same read (a publisher sends several frames per TCP segment),
 * writes again to the same sockets. Corked, their frames pile up in each socket's buffer and are
 * flushed together on `process.nextTick`, which runs once the microtasks of the current callback
 * (the appends and fan-outs of that read) are done: one system call per socket per batch, no
 * added delay. Not `setImmediate`: it measured the same, waits for the rest of the poll phase,
 * and fake timers in a test would stall delivery. Order is unchanged (a corked socket still
 * buffers every write in call order) and `bufferedAmount` still counts what waits, so the outbox
 * limit sees it.
 *
 * @internal
 */
export class WriteBatch {
  #held: Corked[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  /** Cork `socket` for this batch; `holder.uncork()` runs when the batch ends. Call once per batch per socket. */
  hold(socket: Socket, holder: Corked): void {
    socket.cork();
    this.#held.push(holder);
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Uncork every socket held now (also called by the scheduled flush). */
  flush(): void {
    this.#scheduled = false;
    const held = this.#held;
    this.#held = [];
    for (const holder of held) holder.uncork();
  }
}
