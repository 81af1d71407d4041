/**
 * The state figure's reducer (bench/suites/state.mjs), a plain ES module so the reference server
 * loads it as `state.reducerModule` (worker threads too), and the Socket.IO peer's server imports
 * the same function. A room's state is `{ [clientIndex]: [n1, n2, ...] }`: each event `{ c, n }`
 * appends `n` to client `c`'s array, so the final state says by ids which event was lost (a
 * missing n), duplicated (a repeated n) or reordered (a smaller n after a larger one).
 * Our server hands the reducer the envelope `{ from, user, data }` with the client's event as
 * `data`; the peer passes `{ data }` the same way.
 */

/** A room starts as `{}`; sessions have no private state in this figure. */
export function initialState(scope) {
  return scope.startsWith('room:') ? {} : null;
}

/**
 * Fold one event: a new object that shares every array but the sender's, which is copied with
 * `n` appended. Anything but `{ c: integer >= 0, n: integer >= 1 }` is refused (`undefined`).
 */
export function applyEvent(state, event) {
  const d = event !== null && typeof event === 'object' ? event.data : undefined;
  if (d === null || typeof d !== 'object') return undefined;
  const { c, n } = d;
  if (!Number.isSafeInteger(c) || c < 0 || !Number.isSafeInteger(n) || n < 1) return undefined;
  const prev = state !== null && typeof state === 'object' ? state : {};
  const own = Array.isArray(prev[c]) ? prev[c] : [];
  return { ...prev, [c]: [...own, n] };
}
