/**
 * `resilient-socket/testing`: tools for testing code built on resilient-socket (Node only).
 * `createFaultProxy` starts a loopback TCP proxy that breaks connections on purpose.
 */
export { createFaultProxy, FaultProxy } from './fault-proxy.js';
export type { FaultProxyOptions, FaultProxyStats, FaultEvent, FaultProxyEvents } from './fault-proxy.js';
export { ProxyConnection } from './proxy-connection.js';
export type {
  CloseReason,
  ConnectionInfo,
  ConnectionState,
  CutMidFrameOptions,
  CutMode,
  CutOptions,
  Direction,
  DirectionOption,
  FaultKind,
  StallOptions,
} from './proxy-connection.js';
export type { LatencyOptions, ThrottleOptions } from './fault-pipe.js';
export { CHAOS_KINDS } from './chaos.js';
export type { ChaosKind, ChaosOptions, ChaosReport, ChaosRun } from './chaos.js';
export { systemClock } from './timer-set.js';
export type { ProxyClock } from './timer-set.js';
