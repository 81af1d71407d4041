/** Watching the browser for moments to retry at once: `online` and a page becoming visible. @internal */
import type { EventTargetLike, ResolvedOptions } from './options.js';

/**
 * Call `wake` when the network comes back (`online`) or a hidden page becomes visible. The
 * targets are `options.environment` or, by default, `globalThis` and `document` when they exist
 * (so nothing happens in Node). Returns the function that removes the listeners.
 */
export function watchEnvironment(o: Pick<ResolvedOptions, 'environment' | 'reconnectOnOnline' | 'reconnectOnVisible'>, wake: () => void): () => void {
  const env = o.environment;
  const win = env ? env.window : (globalThis as unknown as Partial<EventTargetLike>);
  const doc = env ? env.document : (globalThis as { document?: EventTargetLike & { visibilityState?: string } }).document;
  const onOnline = (): void => wake();
  const onVisible = (): void => {
    if (doc?.visibilityState === undefined || doc.visibilityState === 'visible') wake();
  };
  const useWindow = o.reconnectOnOnline && typeof win?.addEventListener === 'function' && typeof win.removeEventListener === 'function';
  const useDocument = o.reconnectOnVisible && typeof doc?.addEventListener === 'function' && typeof doc.removeEventListener === 'function';
  if (useWindow) win!.addEventListener!('online', onOnline);
  if (useDocument) doc!.addEventListener('visibilitychange', onVisible);
  return () => {
    if (useWindow) win!.removeEventListener!('online', onOnline);
    if (useDocument) doc!.removeEventListener('visibilitychange', onVisible);
  };
}
