/**
 * Binds the pure `StateSync` to a client session: `STATE_UPDATE` frames in, `STATE_ACK` /
 * `STATE_RESYNC` out (directly, not through the offline queue: they are idempotent and mean
 * nothing on a later connection), changes out to the application, and every scope's
 * `{ value, version }` persisted next to the session so a reloaded page shows it at once.
 * (No internal-tag up here: on the file's first statement it made stripInternal drop the
 * `Json` import that the public `StateValue` declaration needs. The class carries its own.)
 */
import type { Json, ServerFrame } from '../protocol/frames.js';
import { roomScope } from '../protocol/frames.js';
import type { ClientSession, StateEventResult } from './client-session.js';
import { CoalescedWriter } from './coalesced-writer.js';
import { StateSync } from './state-sync.js';
import type { SavedState, StateAction, StateChange } from './state-replica.js';

/** A scope's value as the application reads it (`socket.getState(scope)`). */
export interface StateValue {
  /** The value (read-only: it is shared with the replica). */
  value: Json;
  /** Its version on the server. */
  version: number;
  /** False while the value is one restored from storage that the server has not yet confirmed. */
  confirmed: boolean;
}

interface StateRecord {
  v: 1;
  scopes: Record<string, SavedState>;
}

/** The state layer of one `ReconnectingWebSocket`. @internal */
export class StateBinding {
  readonly #session: ClientSession;
  readonly #emit: (change: StateChange) => void;
  readonly #sync: StateSync;
  readonly #key: string;
  readonly #writer: CoalescedWriter;
  /** What is (to be) persisted: every scope the replica accepted or restored. */
  #saved: Record<string, SavedState> = {};
  #cleared = false;

  constructor(session: ClientSession, emit: (change: StateChange) => void) {
    this.#session = session;
    this.#emit = emit;
    this.#key = session.storageKey('state');
    this.#writer = new CoalescedWriter(() => this.#write());
    this.#sync = new StateSync({
      persist: (scope, saved) => {
        this.#saved[scope] = saved;
        this.#save();
      },
      remove: (scope) => {
        delete this.#saved[scope];
        this.#save();
      },
    });
    const hooks = session.hooks;
    hooks.stateVersions = () => this.#sync.versions();
    hooks.frame = (frame: ServerFrame) => {
      if (frame.type === 'STATE_UPDATE') this.#run(this.#sync.receive(frame).actions);
    };
    hooks.newSession = () => this.#sync.reset();
    hooks.disconnected = () => this.#sync.connectionLost();
    hooks.roomLeft = (room) => this.#sync.forget(roomScope(room));
    hooks.resumed = (rooms) => {
      // Rooms the resumed session is no longer in send no more updates: drop their scopes.
      const kept = new Set(rooms.map(roomScope));
      for (const scope of this.#scopes()) if (scope.startsWith('room:') && !kept.has(scope)) this.#sync.forget(scope);
    };
  }

  /** Load what an earlier instance persisted and show it at once (`source: 'restored'`). */
  async load(): Promise<void> {
    const record = await this.#session.storage.get(this.#key);
    if (!isStateRecord(record)) return;
    const actions = this.#sync.restore(record.scopes);
    for (const scope of Object.keys(record.scopes)) {
      const held = this.#sync.get(scope);
      if (held !== null) this.#saved[scope] = { value: held.value, version: held.version };
    }
    this.#run(actions);
  }

  /** The value, version and confirmation of `scope`, or undefined when none is held. */
  get(scope: string): StateValue | undefined {
    return this.#sync.get(scope) ?? undefined;
  }

  /** Queue a state event (exactly once, through the offline queue). */
  dispatch(scope: string, event: Json): Promise<StateEventResult> {
    return this.#session.enqueueStateEvent(scope, event);
  }

  /** The session ended for good (`close()`): forget every scope, in memory and in storage. */
  async clear(): Promise<void> {
    this.#cleared = true;
    for (const scope of this.#scopes()) this.#sync.forget(scope);
    this.#saved = {};
    await this.#writer.request();
    await this.#session.storage.delete(this.#key);
    this.#cleared = false;
  }

  #run(actions: StateAction[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.#session.sendFrame(a.frame);
      else this.#emit(a.change);
    }
  }

  #scopes(): string[] {
    return [...new Set([...Object.keys(this.#saved), ...this.#sync.current().map((c) => c.scope)])];
  }

  #save(): void {
    if (!this.#cleared) this.#writer.schedule();
  }

  async #write(): Promise<void> {
    if (this.#cleared) return;
    const record: StateRecord = { v: 1, scopes: { ...this.#saved } };
    await this.#session.storage.set(this.#key, record);
  }
}

function isStateRecord(v: unknown): v is StateRecord {
  const r = v as StateRecord | undefined;
  return typeof r === 'object' && r !== null && r.v === 1 && typeof r.scopes === 'object' && r.scopes !== null;
}
