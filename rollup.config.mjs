// Build: rollup bundles, esbuild (through rollup-plugin-esbuild) strips the TypeScript.
// Why not @rollup/plugin-typescript: TypeScript 7 is the native compiler and has no JavaScript
// API for plugins to call. `tsc -p tsconfig.build.json` type-checks and emits the .d.ts files
// before rollup runs (see the `build` script); esbuild only transpiles, which is all rollup needs.
import { builtinModules } from 'node:module';
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';
import { existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const deps = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.optionalDependencies ?? {}),
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];
// Node builds leave dependencies and built-ins to the runtime.
const external = (id) => deps.some((d) => id === d || id.startsWith(`${d}/`));
// es2022 everywhere: it is the level the source is written at, Node >= 20 (engines) runs it
// natively, and lowering it rewrote every `#private` field into WeakMap helper calls (slower on
// the hot path, and ~3 KB of the browser bundle's gzip).
const ts = (target = 'es2022') => esbuild({ target, tsconfig: 'tsconfig.json', sourceMap: true });

/** ESM + CJS pair for a Node entry point. */
const nodeEntry = (input, out) => ({
  input,
  external,
  plugins: [ts()],
  output: [
    { file: `dist/${out}.js`, format: 'es', sourcemap: true },
    { file: `dist/${out}.cjs`, format: 'cjs', sourcemap: true, exports: 'named' },
  ],
});

/**
 * Browser builds take a module's `.browser.ts` sibling where one exists (`write-batch.ts` ->
 * `write-batch.browser.ts`): Node-only code stays out of the browser bundles, as `browser`
 * fields do for packages.
 */
const browserVariants = () => ({
  name: 'browser-variants',
  async resolveId(id, importer, options) {
    if (!importer || !id.startsWith('.')) return null;
    const resolved = await this.resolve(id, importer, { ...options, skipSelf: true });
    if (!resolved || resolved.external) return resolved;
    const variant = resolved.id.replace(/\.ts$/, '.browser.ts');
    return variant !== resolved.id && existsSync(variant) ? variant : resolved;
  },
});

/** Browser builds: dependencies bundled, `browser` fields honoured, no Node built-ins allowed. */
const browserPlugins = () => [
  browserVariants(),
  nodeResolve({ browser: true, preferBuiltins: false }),
  commonjs(),
  // es2022 moves no browser floor: the client already calls `structuredClone` (Chrome 98,
  // Firefox 94, Safari 15.4), and every browser with it has ES2022 class fields and private methods.
  ts('es2022'),
  {
    name: 'no-node-builtins',
    resolveId(id, importer) {
      if (id.startsWith('node:') || builtinModules.includes(id)) {
        this.error(`the browser bundle must not import the Node built-in "${id}" (from ${importer})`);
      }
      return null;
    },
  },
];

export default [
  // `resilient-socket` and `resilient-socket/state` in one build: state.js imports index.js, so
  // an application using both loads one copy of the client. ('allow-extension' lets index.js
  // also export the few internals state.js needs, instead of moving the client into a chunk.)
  {
    input: { index: 'src/index.ts', state: 'src/state.ts' },
    preserveEntrySignatures: 'allow-extension',
    external,
    plugins: [ts()],
    output: [
      { dir: 'dist', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js', format: 'es', sourcemap: true },
      { dir: 'dist', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
  },
  nodeEntry('src/lite.ts', 'lite'),
  nodeEntry('src/server/index.ts', 'server/index'),
  nodeEntry('src/server/cli.ts', 'server/cli'),
  // Its own file: the server imports it lazily (only for `store: { redis }`), so ioredis loads only then.
  nodeEntry('src/server/stores/redis.ts', 'server/stores/redis'),
  nodeEntry('src/node/index.ts', 'node/index'),
  nodeEntry('src/testing/index.ts', 'testing/index'),
  // Browser ESM of `resilient-socket` and `resilient-socket/state`, sharing the client the same way.
  {
    input: { index: 'src/index.ts', state: 'src/state.ts' },
    preserveEntrySignatures: 'allow-extension',
    plugins: browserPlugins(),
    output: [
      { dir: 'dist', entryFileNames: '[name].browser.js', chunkFileNames: 'chunks/[name]-[hash].browser.js', format: 'es', sourcemap: true },
      {
        dir: 'dist',
        entryFileNames: '[name].browser.min.js',
        chunkFileNames: 'chunks/[name]-[hash].browser.min.js',
        format: 'es',
        sourcemap: true,
        plugins: [terser({ ecma: 2020, module: true, compress: { passes: 2 } })],
      },
    ],
  },
  // The UMD for script tags (the demo page): everything, synced state included.
  {
    input: 'src/state.ts',
    plugins: browserPlugins(),
    output: {
      file: 'dist/resilient-socket.umd.min.js',
      format: 'umd',
      name: 'ResilientSocket',
      sourcemap: true,
      plugins: [terser({ ecma: 2020, compress: { passes: 2 } })],
    },
  },
  // `resilient-socket/lite`: the plain-only client, the smallest useful import.
  {
    input: 'src/lite.ts',
    plugins: browserPlugins(),
    output: [
      { file: 'dist/lite.browser.js', format: 'es', sourcemap: true },
      { file: 'dist/lite.browser.min.js', format: 'es', sourcemap: true, plugins: [terser({ ecma: 2020, module: true, compress: { passes: 2 } })] },
    ],
  },
];
