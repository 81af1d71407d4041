/**
 * A storage that fails mid-session must not leave a stale record that a reload resurrects: the
 * old token would be rejected and operations acknowledged since would be sent again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../../src/storage/storage-adapter.js';
import { connect, forget, startServer, teardownAll, waitFor } from './integration-helpers.js';

afterEach(teardownAll);

/** A disk whose writes fail (quota) after `okWrites`; deletes still work, as they need no space. */
function quotaDisk(disk: Map<string, unknown>, okWrites: () => number): StorageAdapter {
  let writes = 0;
  return {
    get: async (k) => structuredClone(disk.get(k)),
    set: async (k, v) => {
      if (writes >= okWrites()) throw new Error('QuotaExceededError');
      writes++;
      disk.set(k, structuredClone(v));
    },
    delete: async (k) => {
      disk.delete(k);
    },
  };
}

describe('storage failure, then a reload', () => {
  it('delivers an operation acknowledged after the failure exactly once', async () => {
    const server = await startServer();
    const watcher = connect(server.url);
    await watcher.opened();
    await watcher.ws.join('r');

    const disk = new Map<string, unknown>();
    let limit = Number.POSITIVE_INFINITY;
    const a = connect(server.url, { storage: quotaDisk(disk, () => limit), sessionKey: 'app' });
    await a.opened();
    await a.ws.join('r');
    // The message is persisted before it is transmitted; the disk fails before its ack is persisted.
    const sent = a.ws.send('m-unique', { room: 'r' });
    await waitFor(() => JSON.stringify(disk.get('resilient-socket:app:session') ?? null).includes('m-unique'), 'the message on disk');
    limit = 0;
    await sent;
    await waitFor(() => a.errors.includes('ERR_STORAGE_FAILED'), 'the storage failure');
    // Two resumes in memory rotate the token past what the disk held.
    for (let i = 0; i < 2; i++) {
      const reopened = a.opened();
      await server.disconnect(a.ws.sessionId!, 4008);
      await reopened;
    }
    await waitFor(() => watcher.ids('r').length === 1, 'the first delivery');
    // "Reload": the instance is dropped without close; a new one starts on the same disk.
    forget(a.ws);
    limit = Number.POSITIVE_INFINITY;
    const b = connect(server.url, { storage: quotaDisk(disk, () => limit), sessionKey: 'app' });
    const restored: string[] = [];
    b.ws.on('restored', (ops) => restored.push(...ops.map((o) => o.kind)));
    await b.opened();
    // A fresh session (nothing stale was loaded), so it joins again.
    await b.ws.join('r');
    await b.ws.send('after-reload', { room: 'r' });
    await waitFor(() => watcher.messages.some((m) => m.data === 'after-reload'), 'the message sent after the reload');
    expect(restored).toEqual([]);
    expect(disk.size).toBe(2); // written afresh by the new instance: session and positions
    expect(b.opens[0]?.reason).not.toBe('token_rejected');
    expect(watcher.messages.filter((m) => m.data === 'm-unique')).toHaveLength(1);
    a.ws.close(1000, '', { endSession: false });
  });
});
