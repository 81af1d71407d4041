/**
 * The shared parts of one server instance that frame handlers need. @internal
 */
import type { Store } from './stores/store.js';
import type { ResolvedOptions } from './options.js';
import type { Connection } from './connection.js';
import type { Delivery } from './rooms/delivery.js';
import type { Metrics } from './metrics.js';
import type { StateService } from './state-service.js';
import type { SessionRegistry } from './session-registry.js';
import type { ResumeGuard } from './resume-guard.js';

/** Everything a handler may reach. @internal */
export interface Hub {
  readonly options: ResolvedOptions;
  readonly store: Store;
  /** Random id of this server instance (part of every session owner string). */
  readonly instanceId: string;
  readonly delivery: Delivery;
  readonly metrics: Metrics;
  readonly state: StateService;
  readonly sessions: SessionRegistry;
  /** Open connections of this instance by connection id. */
  readonly connections: Map<string, Connection>;
  /** Failed-resume limit per client address. */
  readonly resumeGuard: ResumeGuard;
  /** Connections between upgrade and handshake answer. */
  pendingHandshakes: number;
}

/** Whether an error came from the store being unreachable. */
export function isStoreUnavailable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ERR_STORE_UNAVAILABLE';
}

/** A message safe to log or send: never the error's full text when it might carry input. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
