// Bundle one entry the way a browser app's bundler would (esbuild: ESM, browser platform,
// minified, tree-shaken) and weigh it: minified bytes, gzip (level 9) and brotli (quality 11).
// Everything runs in-process through esbuild's JS API; nothing is written to disk.
import { build, analyzeMetafile } from 'esbuild';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Compressed sizes of a buffer or string, in bytes. */
export function weigh(code) {
  const buf = Buffer.isBuffer(code) ? code : Buffer.from(code);
  return {
    min: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

/**
 * esbuild plugin: a relative import of `x.js` (a TypeScript source `x.ts`) takes `x.browser.ts`
 * where one exists, as our rollup browser builds do (rollup.config.mjs, `browserVariants`), so a
 * bundle of the sources matches the shipped browser files.
 */
const browserVariants = {
  name: 'browser-variants',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.endsWith('.ts')) return undefined;
      const variant = resolve(dirname(args.importer), args.path).replace(/\.(js|ts)$/, '.browser.ts');
      return existsSync(variant) ? { path: variant } : undefined;
    });
  },
};

/**
 * Bundle `source` (an ES module text that imports what an application would) and weigh it.
 * @param {string} source entry module text, resolved from the repository root
 * @param {{analyze?: boolean}} [opts] analyze: also return esbuild's per-input breakdown
 * @returns {Promise<{min:number,gzip:number,brotli:number,analysis?:string}>}
 */
export async function bundleSize(source, { analyze = false } = {}) {
  const result = await build({
    metafile: analyze,
    stdin: { contents: source, resolveDir: ROOT, sourcefile: 'entry.mjs', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    treeShaking: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [browserVariants],
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  const sizes = weigh(file.contents);
  // which input files the minified bytes come from (esbuild's own report)
  if (analyze) sizes.analysis = await analyzeMetafile(result.metafile);
  return sizes;
}
