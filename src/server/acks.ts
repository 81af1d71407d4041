/**
 * Answers to the dedup outcome of a sequenced operation (shared by messages, rooms and state).
 */
import type { ErrorCode } from '../protocol/index.js';
import type { AdvanceResult, AppendResult } from './stores/store.js';
import type { Connection } from './connection.js';
import type { Hub } from './hub.js';

/**
 * Answer a dedup outcome that is not a success: re-ACK a duplicate, refuse a skipped `seq`, end
 * the connection of a session that no longer exists. True when the operation should proceed.
 */
export function proceed(conn: Connection, seq: number, result: AdvanceResult | AppendResult): boolean {
  switch (result.status) {
    case 'ok':
    case 'appended':
      return true;
    case 'duplicate':
      // Already processed: acknowledge again, do nothing again.
      conn.send({ type: 'ACK', seq });
      return false;
    case 'out_of_order':
      conn.sendError('ERR_OUT_OF_ORDER', `seq ${seq} skips ahead: expected ${result.lastSeq + 1}`, { seq });
      return false;
    case 'no_session':
      conn.sendError('ERR_SESSION_UNKNOWN', 'the session no longer exists', { seq, fatal: true });
      conn.close(1000, 'session ended');
      return false;
  }
}

/** Consume `seq` and refuse the operation with `code` (processed, will not be retried). */
export async function refuse(hub: Hub, conn: Connection, seq: number, code: ErrorCode, message: string): Promise<void> {
  const result = await hub.store.advanceSeq(conn.sessionId, seq);
  if (!proceed(conn, seq, result)) return;
  conn.send({ type: 'ACK', seq, error: { code, message } });
}
