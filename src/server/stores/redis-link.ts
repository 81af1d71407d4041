/**
 * The Redis store's two connections (commands, and a dedicated pub/sub subscriber) and how they
 * behave when Redis is in trouble.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { storeError, unavailable } from './redis-errors.js';

/** @internal */
export interface RedisLinkOptions {
  url: string;
  client: Redis | undefined;
  commandTimeoutMs: number;
  connectionName: string;
  onError: ((error: Error) => void) | undefined;
  onAvailabilityChange: ((available: boolean, error?: Error) => void) | undefined;
  onMessage: (channel: string, message: string) => void;
  /** Called once the subscriber is (re)subscribed after a reconnect, to catch up. */
  onResubscribed: () => void;
}

type ScriptCommand = (...args: Array<string | number>) => Promise<unknown>;

/**
 * Connections with fail-fast semantics: no offline queue (a command while disconnected fails at
 * once with `ERR_STORE_UNAVAILABLE` instead of piling up), no retry of commands that were in
 * flight when the connection dropped (an append must not be replayed behind the server's back;
 * the client's retry plus dedup makes it exactly once), a per-command timeout, and ioredis's own
 * reconnection with capped exponential backoff. Channels are resubscribed by this class after
 * every reconnect (not by ioredis) so that the store knows when to catch up on what pub/sub
 * dropped meanwhile. 'error' events are always handled: Redis trouble never crashes the process.
 *
 * @internal
 */
export class RedisLink {
  readonly #client: Redis;
  readonly #sub: Redis;
  readonly #ownsClient: boolean;
  readonly #options: RedisLinkOptions;
  readonly #channels = new Set<string>();
  /** Channels Redis confirmed on the current subscriber connection. */
  readonly #confirmed = new Set<string>();
  readonly #defined = new Set<string>();
  /** Sockets corked by `#coalesce` until the end of this event-loop turn. */
  readonly #corked = new Set<Redis['stream']>();
  #closed = false;
  #down = false;
  #clientWasReady = false;
  /** What this link attached to the command client, detached on close if the caller owns it. */
  // `any`: the listener type of EventEmitter.on/off, which these handlers are passed to.
  #clientHandlers: Array<[string, (...args: any[]) => void]> = [];

  constructor(options: RedisLinkOptions) {
    this.#options = options;
    const settings: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      connectionName: options.connectionName,
      ...(options.commandTimeoutMs > 0 ? { commandTimeout: options.commandTimeoutMs, connectTimeout: Math.max(options.commandTimeoutMs, 1000) } : {}),
    };
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? new Redis(options.url, settings);
    this.#sub = this.#client.duplicate(settings);
    const onError = (error: Error): void => this.#report(error);
    // A clean close (Redis restarted, CLIENT KILL, a proxy timeout) emits no 'error' but is
    // trouble all the same.
    const onClose = (): void => {
      if (!this.#closed) this.#report(new Error('connection to Redis closed'));
    };
    const onClientReady = (): void => {
      this.#recovered();
      // A catch-up may have failed while only the command connection was down.
      if (this.#clientWasReady && this.#sub.status === 'ready') options.onResubscribed();
      this.#clientWasReady = true;
    };
    this.#clientWasReady = this.#client.status === 'ready';
    this.#clientHandlers = [['error', onError], ['close', onClose], ['ready', onClientReady]];
    for (const [event, handler] of this.#clientHandlers) this.#client.on(event, handler);
    this.#sub.on('error', onError);
    this.#sub.on('close', onClose);
    this.#sub.on('message', (channel: string, message: string) => options.onMessage(channel, message));
    this.#sub.on('ready', () => this.#resubscribe());
    this.#sub.on('close', () => this.#confirmed.clear());
  }

  /** Runs a command on the command connection; failures become `ERR_STORE_UNAVAILABLE`. */
  run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    // While connected (nearly always) the command is sent in this call, without waiting a turn.
    if (!this.#closed && this.#client.status === 'ready') return this.#send(command);
    return this.#whenReady(this.#client).then(() => this.#send(command));
  }

  #send<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      this.#coalesce(this.#client);
      return command(this.#client).catch((error: unknown) => {
        throw storeError(error);
      });
    } catch (error) {
      return Promise.reject(storeError(error));
    }
  }

  /**
   * Runs a Lua script (EVALSHA, loading it on first use). The number of keys travels with every
   * call (the command is defined without a fixed one), so one script can take a different number
   * of keys from call to call.
   */
  async script(name: string, lua: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.run((redis) => {
      if (!this.#defined.has(name)) {
        redis.defineCommand(name, { lua });
        this.#defined.add(name);
      }
      return (redis as unknown as Record<string, ScriptCommand>)[name]!(keys.length, ...keys, ...args);
    });
  }

  /**
   * Subscribes to a channel (resolves once Redis confirmed). With `keep`, the channel stays
   * wanted even if subscribing fails now, and is subscribed on the next connect.
   */
  async listen(channel: string, keep = false): Promise<void> {
    this.#channels.add(channel);
    try {
      await this.#whenReady(this.#sub);
      this.#coalesce(this.#sub);
      await this.#sub.subscribe(channel);
      if (this.#channels.has(channel)) this.#confirmed.add(channel);
      // Unwanted meanwhile (an unsubscribe overtook this subscribe): do not leave it behind.
      else await this.#sub.unsubscribe(channel).catch(() => undefined);
    } catch (error) {
      if (!keep) this.#channels.delete(channel);
      throw storeError(error);
    }
  }

  /** Whether `channel` is subscribed on the live subscriber connection. */
  isListening(channel: string): boolean {
    return this.#confirmed.has(channel) && this.#sub.status === 'ready';
  }

  /** Unsubscribes from a channel (best effort while disconnected: nothing is subscribed then). */
  async unlisten(channel: string): Promise<void> {
    this.#channels.delete(channel);
    this.#confirmed.delete(channel);
    if (this.#sub.status === 'ready') {
      this.#coalesce(this.#sub);
      await this.#sub.unsubscribe(channel).catch(() => undefined);
    }
  }

  /**
   * Hold the connection's writes until the end of this event-loop turn (`setImmediate`), so the
   * commands of every request handled in the turn leave in one system call instead of one each
   * (a resume storm issues thousands). Only the writes are batched: each command keeps its own
   * reply, timeout and failure. The wait is the rest of the turn, under a millisecond when idle.
   */
  #coalesce(connection: Redis): void {
    const socket = connection.stream;
    if (socket === undefined || this.#corked.has(socket)) return;
    socket.cork();
    this.#corked.add(socket);
    setImmediate(() => {
      this.#corked.delete(socket);
      socket.uncork();
    });
  }

  /** Quits both connections (the command one only if this link created it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#channels.clear();
    if (!this.#ownsClient) for (const [event, handler] of this.#clientHandlers) this.#client.off(event, handler);
    const connections = this.#ownsClient ? [this.#sub, this.#client] : [this.#sub];
    await Promise.all(connections.map(async (connection) => {
      await connection.quit().catch(() => undefined);
      // Stops any pending reconnection when QUIT could not be sent.
      connection.disconnect();
    }));
  }

  #resubscribe(): void {
    this.#recovered();
    const channels = [...this.#channels];
    if (channels.length === 0) {
      this.#options.onResubscribed();
      return;
    }
    this.#sub.subscribe(...channels).then(
      () => {
        for (const channel of channels) if (this.#channels.has(channel)) this.#confirmed.add(channel);
        this.#options.onResubscribed();
      },
      (error: unknown) => this.#report(error instanceof Error ? error : new Error(String(error))),
    );
  }

  #report(error: Error): void {
    const { onError, onAvailabilityChange } = this.#options;
    onError?.(error);
    if (this.#down) return;
    this.#down = true;
    if (onAvailabilityChange !== undefined) onAvailabilityChange(false, error);
    else if (onError === undefined) console.warn(`resilient-socket: Redis store unreachable (${error.message}); retrying in the background`);
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    const { onError, onAvailabilityChange } = this.#options;
    if (onAvailabilityChange !== undefined) onAvailabilityChange(true);
    else if (onError === undefined) console.warn('resilient-socket: Redis store reachable again');
  }

  /**
   * Resolves when `connection` can take a command. Fails at once while it is known to be down
   * (between reconnection attempts, or closed), and waits at most `commandTimeoutMs` while a
   * connection attempt is under way (the first connect after construction, typically).
   */
  async #whenReady(connection: Redis): Promise<void> {
    if (this.#closed) throw unavailable('the store is closed');
    const status = connection.status;
    if (status === 'ready') return;
    if (status !== 'connecting' && status !== 'connect' && status !== 'wait') throw unavailable(`not connected (${status})`);
    if (status === 'wait') connection.connect().catch(() => undefined);
    const timeoutMs = this.#options.commandTimeoutMs > 0 ? this.#options.commandTimeoutMs : 10_000;
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        connection.off('ready', onReady);
        connection.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = (): void => finish();
      const onClose = (): void => finish(unavailable('the connection attempt failed'));
      const timer = setTimeout(() => finish(unavailable(`not connected within ${timeoutMs} ms`)), timeoutMs);
      connection.once('ready', onReady);
      connection.once('close', onClose);
    });
  }
}
