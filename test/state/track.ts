/** Closes, after each test and in reverse order, what the test opened (stores, engines, pools). */
import { afterEach } from 'vitest';

const opened: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

/** Register `x` to be closed after the current test; returns it. */
export function track<T extends { close(): Promise<void> }>(x: T): T {
  opened.push(x);
  return x;
}
