/**
 * One live client per stored session: a client claims a slot of its session key with the Web
 * Locks API, so a second tab of the same app gets a session (and offline queue) of its own
 * instead of taking the first tab's over (which the server answers with 4002).
 */

/** The part of `navigator.locks` (Web Locks API) the client uses to claim session slots. */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => unknown): Promise<unknown>;
}

/** Slots tried before giving up on a shared one: `key`, `key#1` ... `key#31`. */
const MAX_SLOTS = 32;

/**
 * The storage namespace a client owns while it holds the lock `resilient-socket:<key>`. A
 * reloaded tab takes its own slot again (slot 0 is the plain key: a single-tab app keeps the
 * storage of versions without slots). @internal
 */
export class SessionSlot {
  /** The claimed key: the session key, `<sessionKey>#<n>`, or a random one. */
  readonly key: string;
  readonly #locks: LockManagerLike | undefined;
  /** Releases the held lock; undefined when none is held. */
  #free: (() => void) | undefined;
  /** Bumped by every release and reclaim, so a release that waited does not undo a later reclaim. */
  #turn = 0;

  constructor(key: string, locks?: LockManagerLike, free?: () => void) {
    this.key = key;
    this.#locks = locks;
    this.#free = free;
  }

  /** Whether the lock is held now. */
  get held(): boolean {
    return this.#free !== undefined;
  }

  /** Let the slot go once `after` settles (the session's last storage writes). */
  release(after?: Promise<unknown>): void {
    const turn = ++this.#turn;
    const go = (): void => {
      if (turn !== this.#turn) return;
      this.#free?.();
      this.#free = undefined;
    };
    if (after) after.then(go, go);
    else go();
  }

  /**
   * Hold the slot again (`reconnect()` after `close()`). If another tab took it meanwhile, the
   * client goes on with this key without a lock, as a client without Web Locks would.
   */
  reclaim(): void {
    this.#turn++;
    if (this.#free || !this.#locks) return;
    const turn = this.#turn;
    void tryLock(this.#locks, this.key).then((free) => {
      if (turn === this.#turn) this.#free = free;
      else free?.();
    });
  }
}

/** Where a tab remembers its slots across reloads (`sessionStorage`: per tab, kept by a reload). */
export interface SlotMemo {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Claim a slot of `key`: the first free one of those this tab held before a reload (from `memo`,
 * in the order they were claimed), else the lowest free one. Without a lock manager (Node) the
 * slot is `key` itself and nothing is locked. Past {@link MAX_SLOTS} live clients the key is a
 * random one nobody shares.
 * @internal
 */
export async function claimSessionSlot(key: string, locks: LockManagerLike | undefined, random: () => number, memo?: SlotMemo): Promise<SessionSlot> {
  if (!locks) return new SessionSlot(key);
  const memoKey = `resilient-socket:${key}:slots`;
  // The tab's own slots first: otherwise a reloaded second tab whose first tab was closed would
  // take the first tab's session and leave its own queue behind.
  const order = new Set(remembered(memo, memoKey));
  for (let i = 0; i < MAX_SLOTS; i++) order.add(i);
  for (const n of order) {
    const slot = n === 0 ? key : `${key}#${n}`;
    let free: (() => void) | undefined;
    try {
      free = await tryLock(locks, slot);
    } catch {
      return new SessionSlot(key); // locks refused here (an opaque origin): behave as without them
    }
    if (free) {
      // Read again: another client of this tab may have claimed a slot meanwhile.
      const mine = remembered(memo, memoKey);
      try {
        if (!mine.includes(n)) memo?.setItem(memoKey, [...mine, n].join());
      } catch {
        // not remembered: the next load takes the lowest free slot
      }
      return new SessionSlot(slot, locks, free);
    }
  }
  return new SessionSlot(`${key}#${Math.floor(random() * 2 ** 52).toString(36)}`);
}

/** Slots this tab held, in the order it claimed them. */
function remembered(memo: SlotMemo | undefined, memoKey: string): number[] {
  try {
    return (memo?.getItem(memoKey) ?? '')
      .split(',')
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n >= 0 && n < MAX_SLOTS);
  } catch {
    return []; // sessionStorage refused (a sandboxed frame)
  }
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
