/**
 * One live client per stored session: a client claims a slot of its session key with the Web
 * Locks API, so a second tab of the same app gets a session (and offline queue) of its own
 * instead of taking the first tab's over (which the server answers with 4002).
 */

/** The part of `navigator.locks` (Web Locks API) the client uses to claim session slots. */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>;
}

import type { Environment } from './options.js';

/** Slots tried before giving up on a shared one: `key`, `key#1` ... `key#31`. */
const MAX_SLOTS = 32;

/**
 * The storage namespace a client owns while it holds the lock `resilient-socket:<key>`. A
 * reloaded tab takes its own slot again (slot 0 is the plain key: a single-tab app keeps the
 * storage of versions without slots). @internal
 */
export interface SessionSlot {
  /** The claimed key: the session key, `<sessionKey>#<n>`, or a random one. */
  readonly key: string;
  /** Whether the lock is held now. */
  readonly held: boolean;
  /** Let the slot go once `after` settles (the session's last storage writes). */
  release(after?: Promise<unknown>): void;
  /**
   * Hold the slot again (`reconnect()` after `close()`). If another tab took it meanwhile, the
   * client goes on with this key without a lock, as a client without Web Locks would.
   */
  reclaim(): void;
}

/** Where a tab remembers its slots across reloads (`sessionStorage`: per tab, kept by a reload). */
export interface SlotMemo {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Claim a slot of `key`: the first free one of those this tab held before a reload (remembered in
 * `sessionStorage`, in the order they were claimed), else the lowest free one. `env.locks` and
 * `env.sessionStorage` default to the browser's. Without a lock manager (Node) the slot is `key`
 * itself and nothing is locked. Past {@link MAX_SLOTS} live clients the key is a random one
 * nobody shares.
 * @internal
 */
export async function claimSessionSlot(key: string, env: Environment | undefined, random: () => number): Promise<SessionSlot> {
  const g = globalThis as { navigator?: { locks?: LockManagerLike }; sessionStorage?: SlotMemo };
  const locks = env?.locks === undefined ? g.navigator?.locks : env.locks;
  if (!locks) return slotOf(key);
  const memoKey = `resilient-socket:${key}:slots`;
  let memo: SlotMemo | null | undefined;
  // Slots this tab held, in the order it claimed them ([] when sessionStorage is refused: a sandboxed frame).
  const remembered = (): number[] => {
    try {
      memo = env?.sessionStorage === undefined ? g.sessionStorage : env.sessionStorage;
      return (memo?.getItem(memoKey) ?? '')
        .split(',')
        .filter(Boolean)
        .map(Number)
        .filter((n) => n >= 0 && n < MAX_SLOTS);
    } catch {
      return [];
    }
  };
  // The tab's own slots first: otherwise a reloaded second tab whose first tab was closed would
  // take the first tab's session and leave its own queue behind.
  const order = new Set(remembered());
  for (let i = 0; i < MAX_SLOTS; i++) order.add(i);
  for (const n of order) {
    const slot = n ? `${key}#${n}` : key;
    let free: (() => void) | undefined;
    try {
      free = await tryLock(locks, slot);
    } catch {
      return slotOf(key); // locks refused here (an opaque origin): behave as without them
    }
    if (free) {
      // Read again: another client of this tab may have claimed a slot meanwhile.
      const mine = remembered();
      try {
        if (!mine.includes(n)) memo?.setItem(memoKey, [...mine, n].join());
      } catch {
        // not remembered: the next load takes the lowest free slot
      }
      return slotOf(slot, locks, free);
    }
  }
  return slotOf(`${key}#${Math.floor(random() * 2 ** 52).toString(36)}`);
}

function slotOf(key: string, locks?: LockManagerLike, free?: () => void): SessionSlot {
  // Bumped by every release and reclaim, so a release that waited does not undo a later reclaim.
  let turn = 0;
  return {
    key,
    get held() {
      return !!free;
    },
    release(after) {
      const mine = ++turn;
      const go = (): void => {
        if (mine !== turn) return;
        free?.();
        free = undefined;
      };
      if (after) after.then(go, go);
      else go();
    },
    reclaim() {
      const mine = ++turn;
      if (free || !locks) return;
      void tryLock(locks, key).then((f) => {
        if (mine === turn) free = f;
        else f?.();
      });
    },
  };
}

/** Take lock `resilient-socket:<slot>` if nobody holds it; resolves with its release, else undefined. */
function tryLock(locks: LockManagerLike, slot: string): Promise<(() => void) | undefined> {
  return new Promise((resolve, reject) => {
    locks
      .request(`resilient-socket:${slot}`, { ifAvailable: true }, (lock) => {
        if (!lock) return resolve(undefined);
        // The lock is held until the promise returned here settles.
        return new Promise<void>((free) => resolve(() => free()));
      })
      .then(undefined, reject);
  });
}
