/**
 * Serves the demo page and the UMD bundle (option `demo`), from the package root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The UMD bundle's public path. */
export const BUNDLE_PATH = '/resilient-socket.umd.min.js';

/**
 * The directory of this package's package.json, found by walking up from this module (the same
 * from `src/server/` under tests and from `dist/server/` when built).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'resilient-socket') return dir;
      } catch {
        // Not ours: keep walking.
      }
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

/** A handler serving static files; answers false for paths it does not serve. @internal */
export function staticHandler(dir: string | undefined): (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<boolean> {
  const root = packageRoot();
  const demoDir = resolve(dir ?? join(root, 'demo'));
  const bundle = join(root, 'dist', 'resilient-socket.umd.min.js');
  return async (req, res, pathname) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let file: string;
    if (pathname === BUNDLE_PATH) file = bundle;
    else if (pathname === BUNDLE_PATH + '.map') file = bundle + '.map';
    else {
      let rel: string;
      try {
        rel = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
      } catch {
        return false;
      }
      if (rel.includes('\0')) return false;
      file = resolve(demoDir, '.' + rel);
      // No way out of the demo directory, whatever the path says.
      if (file !== demoDir && !file.startsWith(demoDir + sep)) return false;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return false;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}
