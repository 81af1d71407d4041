import { expect, expectExactly, receivedIds, sessionId, test, typeMessage, waitJoined } from './fixtures.js';

// Two tabs of one browser share IndexedDB and the default sessionKey: each claims its own slot
// with Web Locks, so neither takes the other's session over (4002) and each keeps its own queue.
test('two tabs on the default sessionKey keep their own sessions, and a reload resumes its own', async ({ browser, openDemo }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const ada = await openDemo({ name: 'Ada', context });
    const bob = await openDemo({ name: 'Bob', context });
    const carl = await openDemo({ name: 'Carl' }); // another browser: the room as others see it

    const adaKey = await ada.evaluate(() => window.demo.sessionKey);
    const bobKey = await bob.evaluate(() => window.demo.sessionKey);
    expect(adaKey).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(bobKey).toBe(`${adaKey}#1`);
    const adaSession = await sessionId(ada);
    const bobSession = await sessionId(bob);
    expect(bobSession).not.toBe(adaSession);

    const fromAda = await typeMessage(ada, 'hello from the first tab');
    const fromBob = await typeMessage(bob, 'hello from the second tab');
    await expectExactly(carl, [fromAda, fromBob]);
    // Both tabs stayed open on their first connection and received each message once.
    for (const page of [ada, bob]) {
      await expect.poll(() => receivedIds(page)).toEqual([fromAda, fromBob]);
      expect(await page.evaluate(() => window.demo.socket.status)).toBe('open');
      expect(await page.evaluate(() => window.demo.socket.stats.reconnects)).toBe(0);
      expect(await page.evaluate(() => window.demo.events.filter((e) => e.text.includes('ERR_SESSION_TAKEN_OVER')).length)).toBe(0);
    }

    // Ada goes offline, queues a message, and reloads: her tab resumes her session and sends it.
    await ada.getByTestId('offline').click();
    await expect(ada.getByTestId('status-pill')).toHaveAttribute('data-status', 'offline');
    const queued = await typeMessage(ada, 'queued before the reload');
    await expect
      .poll(() =>
        ada.evaluate(async (id) => {
          const stored = JSON.stringify(await window.demo.storage.get(`resilient-socket:${window.demo.sessionKey}:session`));
          return stored.includes(`"${id}"`) || stored.includes(`\\"${id}\\"`);
        }, queued),
      )
      .toBe(true);
    // Bob's stored session does not hold Ada's queued message: the tabs do not share a queue.
    expect(
      await bob.evaluate(async (id) => JSON.stringify(await window.demo.storage.get(`resilient-socket:${window.demo.sessionKey}:session`)).includes(id), queued),
    ).toBe(false);

    await ada.reload();
    await waitJoined(ada);
    expect(await ada.evaluate(() => window.demo.sessionKey)).toBe(adaKey);
    expect(await sessionId(ada)).toBe(adaSession);
    expect(await ada.evaluate(() => window.demo.restored)).toEqual([queued]);
    await expect.poll(() => ada.evaluate(() => window.demo.recoveries.at(-1)?.recovered)).toBe(true);

    await expectExactly(carl, [fromAda, fromBob, queued], bob);
    const marker = (await receivedIds(carl)).at(-1)!;
    await expectExactly(bob, [fromAda, fromBob, queued, marker]);
    // Bob's tab was untouched: same slot, same session, same connection.
    expect(await bob.evaluate(() => window.demo.sessionKey)).toBe(bobKey);
    expect(await sessionId(bob)).toBe(bobSession);
    expect(await bob.evaluate(() => window.demo.socket.stats.reconnects)).toBe(0);
    expect(await bob.evaluate(() => window.demo.socket.status)).toBe('open');
    // The reloaded tab gets its queued message back from the room once.
    await expect.poll(() => receivedIds(ada)).toContain(marker);
    expect((await receivedIds(ada)).filter((id) => id === queued)).toEqual([queued]);
  } finally {
    await context.close();
  }
});

test('a reloaded second tab resumes its own session after the first tab was closed', async ({ browser, openDemo }) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const ada = await openDemo({ name: 'Ada', context });
    const bob = await openDemo({ name: 'Bob', context });
    const carl = await openDemo({ name: 'Carl' });
    const adaKey = (await ada.evaluate(() => window.demo.sessionKey))!;
    const adaSession = await sessionId(ada);
    const bobKey = await bob.evaluate(() => window.demo.sessionKey);
    const bobSession = await sessionId(bob);
    expect(bobKey).toBe(`${adaKey}#1`);

    // The first tab is closed without close(): its session stays stored under the plain key.
    await ada.close();
    await bob.getByTestId('offline').click();
    await expect(bob.getByTestId('status-pill')).toHaveAttribute('data-status', 'offline');
    const queued = await typeMessage(bob, 'queued by the second tab');
    await expect
      .poll(() => bob.evaluate(async (id) => JSON.stringify(await window.demo.storage.get(`resilient-socket:${window.demo.sessionKey}:session`)).includes(id), queued))
      .toBe(true);

    // Slot 0 is free now, but the reloaded tab takes its own slot back (sessionStorage remembers it).
    await bob.reload();
    await waitJoined(bob);
    expect(await bob.evaluate(() => window.demo.sessionKey)).toBe(bobKey);
    expect(await sessionId(bob)).toBe(bobSession);
    expect(await bob.evaluate(() => window.demo.restored)).toEqual([queued]);
    await expect.poll(() => bob.evaluate(() => window.demo.recoveries.at(-1)?.recovered)).toBe(true);
    await expectExactly(carl, [queued], bob);
    // The closed tab's session is still stored, for the next tab that opens.
    const stored = await bob.evaluate(async (key) => JSON.stringify(await window.demo.storage.get(`resilient-socket:${key}:session`)), adaKey);
    expect(stored).toContain(adaSession);
  } finally {
    await context.close();
  }
});
