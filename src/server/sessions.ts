/**
 * Session identifiers and resume tokens: generation, hashing and constant-time comparison.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

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
  const given = createHash('sha256').update(token, 'utf8').digest();
  const stored = Buffer.from(storedHash, 'hex');
  if (stored.length !== given.length) return false;
  return timingSafeEqual(given, stored);
}
