/**
 * Session identifiers and resume tokens: generation, hashing and constant-time comparison.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time by `randomId`. */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `bytes` random bytes from the CSPRNG, base64url, for public ids made often (the candidate stream
 * epochs: one per store read). Drawn from a block fetched 4 KiB at a time (as Node's own
 * `crypto.randomUUID` does): one `randomBytes` call costs about as much for 8 bytes as for 4 KiB.
 * Every byte is handed out once, then zeroed in the block. Not for secrets: the block holds the
 * next ids in the heap before they are handed out (a heap snapshot would show them), so resume
 * tokens and session ids are drawn on their own.
 *
 * @internal
 */
export function randomId(bytes: number): string {
  if (bytes > POOL_BYTES) return randomBytes(bytes).toString('base64url');
  if (used + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const id = pool.toString('base64url', used, used + bytes);
  pool.fill(0, used, used + bytes);
  used += bytes;
  return id;
}

/** A new public session id: 128 random bits, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** A new secret resume token: 256 random bits, base64url. */
export function newResumeToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 (hex) of a token: the only form in which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Whether `token` matches the stored hash. Both sides are fixed-length digests, so
 * `timingSafeEqual` compares them without leaking where they differ.
 */
export function tokenMatches(token: string, storedHash: string): boolean {
  return digestMatches(createHash('sha256').update(token, 'utf8').digest(), storedHash);
}

function digestMatches(given: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'hex');
  if (stored.length !== given.length) return false;
  return timingSafeEqual(given, stored);
}

/**
 * Whether `token` opens a session: it matches the current token, or the one presented at the
 * previous resume (kept until the current one is used, so a client that crashed before storing
 * the rotated token is not stranded). The token is hashed once; both comparisons always run,
 * so the time taken does not say which one matched.
 */
export function resumeTokenMatches(token: string, session: { tokenHash: string; prevTokenHash?: string }): boolean {
  const given = createHash('sha256').update(token, 'utf8').digest();
  const current = digestMatches(given, session.tokenHash);
  // An absent previous hash fails on its length: that only tells whether the session was resumed.
  const previous = digestMatches(given, session.prevTokenHash ?? '');
  return current || previous;
}
