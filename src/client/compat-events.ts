/**
 * WebSocket-style events (`addEventListener` and `on*` handlers) next to the typed
 * `on`/`once`/`off` events, so code written for `WebSocket` or `reconnecting-websocket` works as is.
 */

import { rethrowLater } from './socket-utils.js';

/** The WebSocket-style event types. */
export type CompatEventType = 'open' | 'message' | 'close' | 'error';

/** A WebSocket-style event: `type`, `target` and the event's fields (`data` for messages, `code`/`reason` for closes). */
export interface CompatEvent {
  type: CompatEventType;
  target: unknown;
  [field: string]: unknown;
}

/** A WebSocket-style listener. */
export type CompatListener = (event: CompatEvent) => void;

type Registered = CompatListener | { handleEvent: CompatListener };

/** Listener registry and dispatch. @internal */
export class CompatEvents {
  readonly #target: { [K in `on${CompatEventType}`]: CompatListener | null };
  readonly #listeners = new Map<CompatEventType, Set<Registered>>();

  constructor(target: { [K in `on${CompatEventType}`]: CompatListener | null }) {
    this.#target = target;
  }

  add(type: CompatEventType, listener: Registered): void {
    if (typeof listener !== 'function' && typeof listener?.handleEvent !== 'function') return;
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  remove(type: CompatEventType, listener: Registered): void {
    this.#listeners.get(type)?.delete(listener);
  }

  /** Call the `on<type>` handler, then the listeners; a throwing listener never stops the others. */
  dispatch(type: CompatEventType, fields: { type: CompatEventType } & Record<string, unknown>): void {
    const target = this.#target;
    const handler = target[`on${type}`];
    const set = this.#listeners.get(type);
    // nobody listens: build no event
    if (!handler && !set?.size) return;
    const event: CompatEvent = { ...fields, type, target };
    for (const listener of [handler, ...(set ?? [])]) {
      try {
        if (typeof listener === 'function') listener.call(target, event);
        else listener?.handleEvent(event);
      } catch (error) {
        // Like a browser: report the listener's error without breaking the dispatch.
        rethrowLater(error);
      }
    }
  }
}
