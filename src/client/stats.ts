/** Client statistics, returned by `ReconnectingWebSocket.stats`. */

/** Counters and gauges of one client. */
export interface ClientStats {
  /** Successful reconnections (opens after the first). */
  reconnects: number;
  /** Last heartbeat round-trip time (ms), or null before the first PONG. */
  rtt: number | null;
  /** Operations waiting in the offline queue (protocol: until acked; plain: until handed to the socket). */
  queueLength: number;
  /** Their encoded bytes. */
  queueBytes: number;
  /** Frames and bytes received/sent on the wire (bytes: UTF-8 length of text, byteLength of binary). */
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Application messages delivered to the application. */
  messagesIn: number;
  /** Application messages acknowledged by the server (plain mode: handed to the socket). */
  messagesOut: number;
}
