/**
 * How the server reports Redis trouble through its own `logger`: one warning when Redis becomes
 * unreachable, one info line when it is back, every connection error at debug level.
 */
import type { Logger } from './options.js';

/** The Redis store's reporting options, bound to the server's logger. @internal */
export function storeLogging(logger: Logger): { onError: (error: Error) => void; onAvailabilityChange: (available: boolean, error?: Error) => void } {
  return {
    onError: (error) => logger.debug({ err: error.message }, 'redis connection error'),
    onAvailabilityChange: (available, error) => {
      if (available) logger.info({}, 'store reachable again: serving handshakes and writes');
      else logger.warn({ err: error?.message }, 'store unreachable: refusing handshakes and writes with ERR_STORE_UNAVAILABLE (close 4005) until it is back');
    },
  };
}
