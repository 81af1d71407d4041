/**
 * Frame types of protocol v1 (see docs/protocol.md). Pure types: no Node, no DOM.
 */

/** Protocol version spoken by this package. */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol offered by the client and selected by a protocol server. */
export const SUBPROTOCOL = 'resilient-socket.v1';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A position in a stream: everything up to and including `offset` has been processed. */
export interface Position {
  epoch: string;
  offset: number;
}

/** Positions keyed by stream name (`room:<name>` or `session:<id>`). */
export type Positions = Record<string, Position>;

/** A room's stream and its latest position, as reported by the server. */
export interface RoomPosition extends Position {
  stream: string;
}

/** Heartbeat settings announced by the server (ms). */
export interface HeartbeatSettings {
  interval: number;
  timeout: number;
}

/** Limits announced by the server. */
export interface ServerLimits {
  maxPayload: number;
  maxRooms: number;
  maxRate: number;
}

/** Why a `RECONNECT` did not resume the session. */
export type NewSessionReason = 'expired' | 'unknown' | 'token_rejected' | 'user_mismatch';
/** Why a resumed session's history could not be fully replayed. */
export type GapReason = 'history_gap' | 'epoch_changed';
/** Every reason a (re)connection may report `recovered: false`. */
export type NotRecoveredReason = NewSessionReason | GapReason | 'new';

/** A stream whose missed messages could not be replayed. */
export interface StreamGap {
  stream: string;
  reason: GapReason;
  /** First offset the client was missing. */
  from: number;
  /** Latest offset of the stream now. */
  to?: number;
}

/** RFC 6902 operations supported in `STATE_UPDATE.patch`. */
export type PatchOp =
  | { op: 'add'; path: string; value: Json }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: Json };

/** Why a `STATE_UPDATE` was sent. */
export type StateUpdateReason = 'live' | 'recovery' | 'resync';

// ---------------------------------------------------------------- client -> server

export interface HelloFrame {
  type: 'HELLO';
  v: number;
  auth?: Json;
  rooms?: string[];
  state?: Record<string, number>;
  /** The client takes its room `MESSAGE`'s `ACK` folded into its own copy (`NEW_MESSAGE.ack`). */
  foldAcks?: true;
}
export interface ReconnectFrame {
  type: 'RECONNECT';
  v: number;
  sessionId: string;
  resumeToken: string;
  positions: Positions;
  lastAckedSeq: number;
  state?: Record<string, number>;
  auth?: Json;
  rooms?: string[];
  /** As in `HELLO`. */
  foldAcks?: true;
}
export interface MessageFrame { type: 'MESSAGE'; seq: number; id: string; room?: string; to?: string; data: Json }
export interface JoinRoomFrame { type: 'JOIN_ROOM'; seq: number; room: string; since?: Position }
export interface LeaveRoomFrame { type: 'LEAVE_ROOM'; seq: number; room: string }
export interface PositionAckFrame { type: 'POSITION_ACK'; positions: Positions }
export interface ResyncFrame { type: 'RESYNC'; stream: string; epoch: string; from: number }
export interface StateAckFrame { type: 'STATE_ACK'; scope: string; version: number }
export interface StateResyncFrame { type: 'STATE_RESYNC'; scope: string; version?: number }
export interface StateEventFrame { type: 'STATE_EVENT'; seq: number; scope: string; event: Json }
export interface AuthFrame { type: 'AUTH'; ref: string; auth: Json }
export interface PingFrame { type: 'PING'; t: number }
export interface ByeFrame { type: 'BYE' }

/** Every frame a client may send. */
export type ClientFrame =
  | HelloFrame
  | ReconnectFrame
  | MessageFrame
  | JoinRoomFrame
  | LeaveRoomFrame
  | PositionAckFrame
  | ResyncFrame
  | StateAckFrame
  | StateResyncFrame
  | StateEventFrame
  | AuthFrame
  | PingFrame
  | ByeFrame;

/** Client frames that carry a `seq` and go through the offline queue. */
export type SequencedFrame = MessageFrame | JoinRoomFrame | LeaveRoomFrame | StateEventFrame;

// ---------------------------------------------------------------- server -> client

interface HandshakeAnswer {
  v: number;
  sessionId: string;
  resumeToken: string;
  user: string | null;
  rooms: Record<string, RoomPosition>;
  heartbeat: HeartbeatSettings;
  limits: ServerLimits;
}
export interface NewSessionFrame extends HandshakeAnswer { type: 'NEW_SESSION'; recovered: false; reason?: NewSessionReason }
export interface StateRecoveredFrame extends HandshakeAnswer {
  type: 'STATE_RECOVERED';
  lastSeq: number;
  recovered: boolean;
  reason?: GapReason;
  gaps?: StreamGap[];
}
export interface ReplayDoneFrame { type: 'REPLAY_DONE'; replayed: number }
export interface RoomJoinedAckFrame { type: 'ROOM_JOINED_ACK'; seq: number; room: string; stream: string; epoch: string; offset: number }
export interface RoomLeftAckFrame { type: 'ROOM_LEFT_ACK'; seq: number; room: string }
export interface AckFrame { type: 'ACK'; seq: number; offset?: number; version?: number; error?: { code: string; message: string } }
export interface NewMessageFrame {
  type: 'NEW_MESSAGE';
  stream: string;
  epoch: string;
  offset: number;
  room?: string;
  from: string | null;
  user?: string | null;
  id: string;
  data: Json;
  ts: number;
  replay?: true;
  /** The sender's own live copy only (`foldAcks`): also the `ACK` of its `MESSAGE` with this `seq`, at `offset`. */
  ack?: number;
}
export interface StateUpdateFrame {
  type: 'STATE_UPDATE';
  scope: string;
  version: number;
  full?: Json;
  patch?: PatchOp[];
  base?: number;
  reason: StateUpdateReason;
}
export interface AuthOkFrame { type: 'AUTH_OK'; ref: string; user: string | null }
export interface PongFrame { type: 'PONG'; t: number }
export interface ErrorFrame {
  type: 'ERROR';
  code: string;
  message: string;
  seq?: number;
  ref?: string;
  stream?: string;
  scope?: string;
  fatal?: boolean;
}

/** Every frame a server may send. */
export type ServerFrame =
  | NewSessionFrame
  | StateRecoveredFrame
  | ReplayDoneFrame
  | RoomJoinedAckFrame
  | RoomLeftAckFrame
  | AckFrame
  | NewMessageFrame
  | StateUpdateFrame
  | AuthOkFrame
  | PongFrame
  | ErrorFrame;

/** Any frame of the protocol. */
export type Frame = ClientFrame | ServerFrame;
/** Frame type names sent by clients. */
export type ClientFrameType = ClientFrame['type'];
/** Frame type names sent by servers. */
export type ServerFrameType = ServerFrame['type'];

/** Stream name of a room. */
export function roomStream(room: string): string {
  return `room:${room}`;
}
/** Stream name of a session's direct messages. */
export function sessionStream(sessionId: string): string {
  return `session:${sessionId}`;
}
/** State scope name of a room's shared state. */
export function roomScope(room: string): string {
  return `room:${room}`;
}
/** State scope name of a session's private state. */
export const SESSION_SCOPE = 'session';
