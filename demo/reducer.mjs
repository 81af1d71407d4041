/**
 * The demo's shared state: one counter per room. A plain ES module, so the reference server can
 * load it as its state reducer (`createServer({ state: { reducerModule } })`), in worker threads
 * too. The server hands the reducer an envelope `{ from, user, data }`; `data` is what the page
 * dispatched: `{ add: 1 }` or `{ add: -1 }`.
 */

/** Every room's counter starts at 0; sessions have no private state in the demo. */
export function initialState(scope) {
  return scope.startsWith('room:') ? 0 : null;
}

/** Fold one event; anything but a step of one is refused (`undefined`). */
export function applyEvent(state, event) {
  const add = event !== null && typeof event === 'object' && event.data !== null && typeof event.data === 'object' ? event.data.add : undefined;
  if (add !== 1 && add !== -1) return undefined;
  return (typeof state === 'number' ? state : 0) + add;
}
