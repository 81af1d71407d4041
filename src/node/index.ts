/**
 * `resilient-socket/node`: client-side pieces that only Node.js may load (they import Node
 * built-ins, so the browser bundle must never reach them).
 */
export { FileStorage } from './file-storage.js';
export type { FileStorageOptions } from './file-storage.js';
