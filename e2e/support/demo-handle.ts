/**
 * What demo/demo.js exposes as `window.demo`, typed for `page.evaluate` in the tests.
 */

/** A message the page delivered to the application (one `message` event). */
export interface ReceivedEntry {
  id: string;
  text: string;
  name: string;
  stream: string;
  offset: number;
  self: boolean;
  replayed: boolean;
}

/** One `recovered` event. */
export interface RecoveryEntry {
  recovered: boolean;
  reason?: string;
  replayed: number;
  gaps: number;
  sessionId: string;
}

/** One shared-state change for the demo's room scope. */
export interface StateChangeEntry {
  value: unknown;
  version: number;
  source: string;
  confirmed: boolean;
}

/** The part of `ReconnectingWebSocket` the tests read. */
export interface SocketView {
  readonly status: string;
  readonly sessionId: string | undefined;
  readonly recovered: boolean;
  readonly attempt: number;
  readonly nextRetryDelay: number | undefined;
  readonly stats: { queueLength: number; reconnects: number };
  reconnect(): void;
  dispatch(scope: string, event: unknown): Promise<unknown>;
}

/** The storage adapter the page uses (IndexedDB). */
export interface StorageView {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}

/** `window.demo`. */
export interface DemoHandle {
  socket: SocketView;
  storage: StorageView;
  room: string;
  scope: string;
  sessionKey: string;
  received: ReceivedEntry[];
  sent: string[];
  restored: string[];
  recoveries: RecoveryEntry[];
  events: { at: number; text: string }[];
  stateChanges: StateChangeEntry[];
  counter: { value: unknown; version: number | null; confirmed: boolean | null };
  joined: boolean;
  offline: boolean;
  send(text: string): string;
  drop(): Promise<boolean>;
  setOffline(offline: boolean): void;
  blockConnections(blocked: boolean): void;
}

declare global {
  interface Window {
    demo: DemoHandle;
    /** The UMD bundle's global (only what the tests use). */
    ResilientSocket: {
      IndexedDBStorage: new (options?: { dbName?: string; storeName?: string }) => StorageView;
    };
  }
}
