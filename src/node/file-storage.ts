import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ResilientSocketError } from '../protocol/errors.js';
import type { StorageAdapter } from '../storage/storage-adapter.js';

/** Options of {@link FileStorage}. */
export interface FileStorageOptions {
  /** Call `fsync` on the file and its directory before a write resolves (default true). */
  fsync?: boolean;
}

const SUFFIX = '.json';
const TMP = '.tmp';
/** Longest encoded key used as a file name as is; longer keys are hashed (name limits ~255 bytes). */
const MAX_NAME = 180;

/**
 * Storage in a directory, one JSON file per key, for Node processes that restart.
 *
 * Every write goes to a fresh temporary file that is flushed (`fsync`) and then renamed over the
 * target: rename is atomic on POSIX file systems, so a crash at any point leaves either the old
 * or the new complete file, never a torn one. Writes to the same key are serialised in call
 * order, so a slow earlier write can never land after (and overwrite) a later one.
 */
export class FileStorage implements StorageAdapter {
  readonly #dir: string;
  readonly #fsync: boolean;
  readonly #chains = new Map<string, Promise<void>>();
  #ready: Promise<void> | undefined;
  #tmpCounter = 0;

  /** @param dir directory holding the files (created when missing) */
  constructor(dir: string, options: FileStorageOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new ResilientSocketError('ERR_INVALID_OPTION', 'FileStorage: dir must be a non-empty string');
    }
    this.#dir = dir;
    this.#fsync = options.fsync ?? true;
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#dir, { recursive: true });
      // Temporary files left by a crash mid-write are garbage (the target file is intact). Only
      // those of dead processes: a live one (or another adapter in this process) may be
      // between its write and its rename.
      for (const name of await readdir(this.#dir)) {
        if (!name.endsWith(TMP)) continue;
        const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(name)?.[1]);
        if (Number.isSafeInteger(pid) && !isAlive(pid)) await rm(join(this.#dir, name), { force: true });
      }
    })();
    return this.#ready;
  }

  #file(key: string): string {
    const encoded = encodeURIComponent(key).replace(/\./g, '%2E').replace(/\*/g, '%2A');
    const name = encoded.length <= MAX_NAME ? encoded : `%23${createHash('sha256').update(key).digest('hex')}`;
    return join(this.#dir, name + SUFFIX);
  }

  /** Run `task` after every earlier write to `key`. */
  #serialise(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return next;
  }

  /** @inheritdoc */
  async get(key: string): Promise<unknown> {
    await this.#init();
    // Wait for queued writes so a read after a write sees it.
    await this.#chains.get(key);
    let text: string;
    try {
      text = await readFile(this.#file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const record = JSON.parse(text) as { key: string; value: unknown };
    return record.value;
  }

  /** @inheritdoc */
  set(key: string, value: unknown): Promise<void> {
    // Serialise now so a value mutated by the caller after `set` returns is not what lands.
    const text = JSON.stringify({ key, value });
    return this.#serialise(key, async () => {
      await this.#init();
      const target = this.#file(key);
      const tmp = `${target}.${process.pid}.${++this.#tmpCounter}${TMP}`;
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(text, 'utf8');
        if (this.#fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      if (this.#fsync) await this.#syncDir();
    });
  }

  /** Make the rename itself durable (best effort: some platforms cannot open directories). */
  async #syncDir(): Promise<void> {
    try {
      const dir = await open(this.#dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Windows cannot fsync a directory; the rename is still atomic there.
    }
  }

  /** @inheritdoc */
  delete(key: string): Promise<void> {
    return this.#serialise(key, async () => {
      await this.#init();
      try {
        await unlink(this.#file(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    });
  }

  /** @inheritdoc */
  async keys(prefix = ''): Promise<string[]> {
    await this.#init();
    await Promise.all([...this.#chains.values()]);
    const result: string[] = [];
    for (const name of await readdir(this.#dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      let key: string;
      if (name.startsWith('%23')) {
        // Hashed name: the key is only inside the file.
        try {
          key = (JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as { key: string }).key;
        } catch {
          continue;
        }
      } else {
        key = decodeURIComponent(name.slice(0, -SUFFIX.length));
      }
      if (key.startsWith(prefix)) result.push(key);
    }
    return result;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
