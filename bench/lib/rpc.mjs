// The worker side of lib/proc.mjs: answer the parent's commands and emit events.
// A worker whose parent goes away exits, so no bench process outlives the run.

/** Answer commands from the parent with `handlers[cmd](args)` (may be async). */
export function serve(handlers) {
  process.on('message', async (m) => {
    if (!m || m.re === undefined) return;
    const h = handlers[m.cmd];
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.args ?? {});
      process.send?.({ re: m.re, result });
    } catch (err) {
      process.send?.({ re: m.re, error: err?.stack ?? String(err) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Emit an event to the parent. */
export function emit(event, data) {
  process.send?.({ event, data });
}

/** Close every client handle of a worker's fleet (`{ h }` entries), best effort, and empty it. */
export function closeFleet(fleet) {
  for (const c of fleet) {
    try {
      c.h?.close();
    } catch {
      // closing is best effort
    }
  }
  fleet.length = 0;
}

/** CPU time (user + system) in ms since `since` (a process.cpuUsage() value). */
export function cpuMs(since) {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}
