/**
 * The `ReconnectingWebSocket` of `resilient-socket/state`: the core client plus the synced state
 * layer (`dispatch()`, `getState()`, `state` events). See docs/state.md.
 */
import { PROTOCOL, ReconnectingWebSocket } from './reconnecting-websocket.js';
import type { ProtocolKit } from './reconnecting-socket-base.js';
import { StateBinding } from './state-binding.js';

/**
 * A reconnecting WebSocket with synced, versioned application state: everything the core
 * `ReconnectingWebSocket` does (it is a subclass), plus `dispatch(scope, event)` through the
 * offline queue, `getState(scope)` and a `state` event for every change.
 */
export class StateReconnectingWebSocket extends ReconnectingWebSocket {
  /** @internal */
  static override _kit: ProtocolKit = { ...PROTOCOL, state: (session, emit) => new StateBinding(session, emit) };
}
