/**
 * Prometheus metrics of one server instance, in its own prom-client `Registry` (never the
 * global default one, so two servers in a process do not mix their numbers).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Live values the gauges read at scrape time. */
export interface MetricSources {
  connections(): number;
  sessions(): number;
  bufferedBytes(): number;
  streams(): number;
  pendingHandshakes(): number;
}

/** Result label of a handshake. */
export type RecoveryResult = 'recovered' | 'gap' | 'new_session';

/** The metrics of a server. @internal */
export class Metrics {
  readonly registry = new Registry();
  readonly handshakes: Counter<'kind'>;
  readonly reconnects: Counter;
  readonly recoveries: Counter<'result'>;
  readonly replayed: Counter;
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  readonly errors: Counter<'code'>;
  readonly handshakeSeconds: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    const p = 'resilient_socket_';
    new Gauge({ name: `${p}connections`, help: 'Open WebSocket connections.', registers, collect() { this.set(sources.connections()); } });
    new Gauge({ name: `${p}sessions_attached`, help: 'Sessions attached to a connection of this instance.', registers, collect() { this.set(sources.sessions()); } });
    new Gauge({ name: `${p}outbox_bytes`, help: 'Bytes queued in WebSocket send buffers (sum of bufferedAmount).', registers, collect() { this.set(sources.bufferedBytes()); } });
    new Gauge({ name: `${p}handshakes_pending`, help: 'Connections between upgrade and handshake answer.', registers, collect() { this.set(sources.pendingHandshakes()); } });
    new Gauge({ name: `${p}streams_subscribed`, help: 'Streams this instance is subscribed to.', registers, collect() { this.set(sources.streams()); } });
    this.handshakes = new Counter({ name: `${p}handshakes_total`, help: 'Completed handshakes by kind (hello, reconnect).', labelNames: ['kind'], registers });
    this.reconnects = new Counter({ name: `${p}reconnects_total`, help: 'RECONNECT handshakes received.', registers });
    this.recoveries = new Counter({ name: `${p}recoveries_total`, help: 'RECONNECT outcomes: recovered, gap (resumed with a history gap), new_session.', labelNames: ['result'], registers });
    this.replayed = new Counter({ name: `${p}replayed_messages_total`, help: 'Messages sent by replays (resume, since, RESYNC).', registers });
    this.messagesIn = new Counter({ name: `${p}messages_in_total`, help: 'MESSAGE frames accepted (stored or handled).', registers });
    this.messagesOut = new Counter({ name: `${p}messages_out_total`, help: 'NEW_MESSAGE frames sent.', registers });
    this.errors = new Counter({ name: `${p}errors_total`, help: 'ERROR frames sent, by code.', labelNames: ['code'], registers });
    this.handshakeSeconds = new Histogram({
      name: `${p}handshake_duration_seconds`,
      help: 'Time from the handshake frame to the handshake answer.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
