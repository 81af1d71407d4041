import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/node/file-storage.js';
import { storageConformance } from './conformance.js';

function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rs-file-storage-'));
}

storageConformance('FileStorage', {
  create: async () => {
    const dir = await tempDir();
    return { adapter: new FileStorage(dir), reopen: () => new FileStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

describe('FileStorage crash safety', () => {
  it('a crash mid-write (a torn temporary file) leaves the previous value intact and is cleaned up', async () => {
    const dir = await tempDir();
    try {
      const a = new FileStorage(dir);
      await a.set('k', { v: 'old' });
      const [file] = await readdir(dir);
      // What a process killed between write and rename leaves behind (a pid no process has).
      await writeFile(join(dir, `${file}.${deadPid()}.1.tmp`), '{"key":"k","value":{"v":"ne');
      const b = new FileStorage(dir);
      expect(await b.get('k')).toEqual({ v: 'old' });
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never exposes a partial file to a concurrent reader', async () => {
    const dir = await tempDir();
    try {
      const a = new FileStorage(dir);
      const reader = new FileStorage(dir);
      const big = { data: 'x'.repeat(200_000) };
      await a.set('k', { data: '' });
      const writes = Array.from({ length: 10 }, (_, i) => a.set('k', { ...big, i }));
      for (let i = 0; i < 10; i++) {
        const v = (await reader.get('k')) as { data: string };
        expect(v.data.length === 0 || v.data.length === 200_000).toBe(true);
      }
      await Promise.all(writes);
      expect(await reader.get('k')).toMatchObject({ i: 9 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an empty directory name', () => {
    expect(() => new FileStorage('')).toThrow(/dir must be/);
  });
});
