/**
 * Coalescing of socket writes: every frame written to a socket during one turn of the event loop
 * leaves in one `writev` when the turn ends, instead of one system call per frame.
 */
import type { Socket } from 'node:net';

/** Something holding a corked socket, uncorked when the batch ends. @internal */
export interface Corked {
  uncork(): void;
}

/**
 * Sockets corked for the current batch. A fan-out writes one frame to each of many sockets; the
 * next entry, usually handled in the same turn, writes again to the same sockets. Corked, their
 * frames pile up in each socket's buffer and are flushed together in `setImmediate`, after the
 * I/O callbacks of this turn: one system call per socket per turn. Order is unchanged (a corked
 * socket still buffers every write in call order) and `bufferedAmount` still counts what waits,
 * so the outbox limit sees it.
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
      setImmediate(this.#flush);
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
