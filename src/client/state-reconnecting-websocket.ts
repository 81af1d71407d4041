/**
 * The `ReconnectingWebSocket` of `resilient-socket/state`: the core client plus the synced state
 * layer (`dispatch()`, `getState()`, `state` events). See docs/state.md.
 */
import type { Json } from '../protocol/frames.js';
import type { StateEventResult } from './client-session.js';
import { PROTOCOL, ReconnectingWebSocket } from './reconnecting-websocket.js';
import type { ProtocolKit } from './reconnecting-socket-base.js';
import { StateBinding } from './state-binding.js';
import type { StateValue } from './state-binding.js';

/**
 * A reconnecting WebSocket with synced, versioned application state: everything the core
 * `ReconnectingWebSocket` does (it is a subclass), plus `dispatch(scope, event)` through the
 * offline queue, `getState(scope)` and a `state` event for every change.
 */
export class StateReconnectingWebSocket extends ReconnectingWebSocket {
  /** @internal */
  static override _kit: ProtocolKit = { ...PROTOCOL, state: (session, emit) => new StateBinding(session, emit) };

  /**
   * The synced application state of `scope` (`'session'`, or `'room:<name>'` for a joined room):
   * `{ value, version, confirmed }`, or undefined while none is held (and in plain mode). Not the
   * connection's status (`status`). Changes are reported by the `state` event.
   */
  override getState(scope: string): StateValue | undefined {
    return super.getState(scope);
  }

  /**
   * Append `event` to the versioned state of `scope` on the server, where the application's
   * reducer folds it. Goes through the offline queue like `send()`: applied exactly once, kept
   * across reconnects and reloads. Resolves with `{ version }` once the server acknowledges it
   * (the new value arrives as a `state` event); rejects with the server's code when its reducer
   * refuses the event (`ERR_STATE_REJECTED`), and with `ERR_NOT_SUPPORTED` in plain mode.
   */
  override dispatch(scope: string, event: Json): Promise<StateEventResult> {
    return super.dispatch(scope, event);
  }
}
