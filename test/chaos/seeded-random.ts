/** A small seeded random source for replayable soak runs. */

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator, public domain): fast, good enough for picking
 * faults and delays, and the same seed always gives the same sequence. Returns numbers in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
