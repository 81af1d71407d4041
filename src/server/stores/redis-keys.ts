/** Names of the Redis store's keys and channels. */

/** What a pub/sub channel carries. */
export type ChannelTarget = { kind: 'entries' | 'versions'; name: string } | { kind: 'control' };

/**
 * The key layout, all under one prefix `P` (default `rs:`):
 *
 * | key / channel            | type    | holds |
 * |--------------------------|---------|-------|
 * | `P stream:<s>`           | stream  | entries of stream `s`, ID `<offset>-0`, fields `t` (ts) and `b` (JSON body); expires once they all aged out |
 * | `P stream-meta:<s>`      | hash    | `epoch`, `last` (latest offset), `age` (maxAgeMs of the latest append), `idle` (its idle limit); expires after that limit unused |
 * | `P session:<id>`         | hash    | the session record (see redis-codec.ts) |
 * | `P session-expiry`       | zset    | detached sessions, scored by `expiresAt` |
 * | `P state-events:<scope>` | stream  | state events, ID `<version>-0`, fields `e` (encoding) and `d` (data) |
 * | `P state-version:<scope>`| string  | latest version |
 * | `P state-snapshot:<scope>`| hash   | `version`, `encoding`, `data`, `ts` |
 * | `P entries:<s>`          | channel | `epoch \n offset \n ts \n body` of each new entry |
 * | `P versions:<scope>`     | channel | each new version |
 * | `P control`              | channel | JSON control messages |
 * | `P instance:<i>`         | string  | liveness of instance `i` (expires unless its heartbeat refreshes it) |
 * | `P instances`            | zset    | instances that held sessions or beat, scored by when first seen |
 * | `P owned:<i>`            | set     | ids of sessions whose owner is on instance `i` |
 * | `P expired:<id>`         | string  | tombstone of an expired session (expires after the server's `tombstoneTtl`) |
 * | `P user-sessions:<u>`    | set     | ids of sessions of user `u` (dead ids pruned when counted) |
 *
 * @internal
 */
export class RedisKeys {
  readonly #prefix: string;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** The prefix itself (scripts that derive keys from ids, e.g. owner indexes, build on it). */
  get prefix(): string {
    return this.#prefix;
  }

  stream(name: string): string {
    return `${this.#prefix}stream:${name}`;
  }

  streamMeta(name: string): string {
    return `${this.#prefix}stream-meta:${name}`;
  }

  session(id: string): string {
    return `${this.#prefix}session:${id}`;
  }

  expiry(): string {
    return `${this.#prefix}session-expiry`;
  }

  stateEvents(scope: string): string {
    return `${this.#prefix}state-events:${scope}`;
  }

  stateVersion(scope: string): string {
    return `${this.#prefix}state-version:${scope}`;
  }

  stateSnapshot(scope: string): string {
    return `${this.#prefix}state-snapshot:${scope}`;
  }

  instance(instanceId: string): string {
    return `${this.#prefix}instance:${instanceId}`;
  }

  instances(): string {
    return `${this.#prefix}instances`;
  }

  owned(instanceId: string): string {
    return `${this.#prefix}owned:${instanceId}`;
  }

  expired(id: string): string {
    return `${this.#prefix}expired:${id}`;
  }

  userSessions(user: string): string {
    return `${this.#prefix}user-sessions:${user}`;
  }

  entriesChannel(stream: string): string {
    return `${this.#prefix}entries:${stream}`;
  }

  versionsChannel(scope: string): string {
    return `${this.#prefix}versions:${scope}`;
  }

  controlChannel(): string {
    return `${this.#prefix}control`;
  }

  /** What a channel of this prefix carries, or undefined for a foreign one. */
  parseChannel(channel: string): ChannelTarget | undefined {
    if (!channel.startsWith(this.#prefix)) return undefined;
    const rest = channel.slice(this.#prefix.length);
    if (rest === 'control') return { kind: 'control' };
    if (rest.startsWith('entries:')) return { kind: 'entries', name: rest.slice('entries:'.length) };
    if (rest.startsWith('versions:')) return { kind: 'versions', name: rest.slice('versions:'.length) };
    return undefined;
  }
}
