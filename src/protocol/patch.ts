/**
 * JSON Patch (RFC 6902), the subset `STATE_UPDATE.patch` uses: `add`, `remove`, `replace`, with
 * JSON Pointer paths (RFC 6901). Pure: no Node, no DOM; shared by the server (which diffs) and
 * the client (which applies).
 *
 * Arrays are diffed per index (a shared prefix is recursed into, extra elements are added or
 * removed at the end), unless that patch would be larger than the new array itself, in which case
 * the whole array is replaced: appends stay small, reorders do not explode.
 */
import type { Json, PatchOp } from './frames.js';
import { ResilientSocketError } from './errors.js';

type JsonObject = { [key: string]: Json };

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Escape one reference token of a JSON Pointer (`~` → `~0`, `/` → `~1`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Undo `escapePointerToken`; `~` followed by anything but `0` or `1` is invalid (null). */
export function unescapePointerToken(token: string): string | null {
  if (/~[^01]|~$/.test(token)) return null;
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Deep equality of JSON values (`-0` and `0` differ, as `Object.is` says). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return typeof a !== 'number' || Object.is(a, b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' ? Object.is(a, b) : false;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as Json, b[i] as Json)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!hasOwn(b, k) || !jsonEqual(a[k] as Json, b[k] as Json)) return false;
  }
  return true;
}

/**
 * The operations turning `a` into `b`: `applyPatch(a, diff(a, b))` deep-equals `b`. Empty when
 * they are equal. Objects are recursed into key by key; arrays as described in the module doc.
 */
export function diff(a: Json, b: Json): PatchOp[] {
  const ops: PatchOp[] = [];
  diffInto(a, b, '', ops);
  return ops;
}

function diffInto(a: Json, b: Json, path: string, ops: PatchOp[]): void {
  if (jsonEqual(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) {
      if (!hasOwn(b, k)) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(k)}` });
    }
    for (const k of Object.keys(b)) {
      const p = `${path}/${escapePointerToken(k)}`;
      if (hasOwn(a, k)) diffInto(a[k] as Json, b[k] as Json, p, ops);
      else ops.push({ op: 'add', path: p, value: b[k] as Json });
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const sub: PatchOp[] = [];
    const common = Math.min(a.length, b.length);
    for (let i = 0; i < common; i++) diffInto(a[i] as Json, b[i] as Json, `${path}/${i}`, sub);
    for (let i = common; i < b.length; i++) sub.push({ op: 'add', path: `${path}/${i}`, value: b[i] as Json });
    // Remove from the end so every index stays valid while the ops apply in order.
    for (let i = a.length - 1; i >= common; i--) sub.push({ op: 'remove', path: `${path}/${i}` });
    if (sub.length > 1 && JSON.stringify(sub).length > JSON.stringify(b).length + path.length + 32) {
      ops.push({ op: 'replace', path, value: b });
    } else {
      for (const op of sub) ops.push(op);
    }
    return;
  }
  ops.push({ op: 'replace', path, value: b });
}

function patchError(index: number, op: unknown, reason: string): ResilientSocketError {
  const path = typeof op === 'object' && op !== null ? (op as { path?: unknown }).path : undefined;
  return new ResilientSocketError('ERR_STATE_GAP', `invalid patch: operation ${index} (${String(path)}): ${reason}`, {
    details: { index, path: typeof path === 'string' ? path : null, reason },
  });
}

/** Parse a JSON Pointer into tokens; null when malformed. `''` is the whole document. */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    const t = unescapePointerToken(raw);
    if (t === null) return null;
    tokens.push(t);
  }
  return tokens;
}

/** Array index of a token, `length` for `-` when `allowEnd`; null when not a valid index. */
function arrayIndex(token: string, length: number, allowEnd: boolean): number | null {
  if (token === '-') return allowEnd ? length : null;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return null;
  const i = Number(token);
  const max = allowEnd ? length : length - 1;
  return i <= max ? i : null;
}

function setOwn(target: JsonObject, key: string, value: Json): void {
  // defineProperty, not assignment: a key named `__proto__` must stay an ordinary own property.
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** Apply one validated op to `node` at `tokens[depth..]`, returning the new node (copy on write). */
function applyAt(node: Json, tokens: string[], depth: number, op: PatchOp, fail: (reason: string) => never): Json {
  const token = tokens[depth] as string;
  const last = depth === tokens.length - 1;
  if (Array.isArray(node)) {
    const i = arrayIndex(token, node.length, last && op.op === 'add');
    if (i === null) return fail(`no array element "${token}"`);
    const copy = node.slice();
    if (!last) copy[i] = applyAt(node[i] as Json, tokens, depth + 1, op, fail);
    else if (op.op === 'add') copy.splice(i, 0, op.value);
    else if (op.op === 'remove') copy.splice(i, 1);
    else copy[i] = op.value;
    return copy;
  }
  if (isObject(node)) {
    const exists = hasOwn(node, token);
    if (!exists && !(last && op.op === 'add')) return fail(`no member "${token}"`);
    const copy: JsonObject = {};
    for (const k of Object.keys(node)) {
      if (!(last && op.op === 'remove' && k === token)) setOwn(copy, k, node[k] as Json);
    }
    if (!last) setOwn(copy, token, applyAt(node[token] as Json, tokens, depth + 1, op, fail));
    else if (op.op !== 'remove') setOwn(copy, token, op.value);
    return copy;
  }
  return fail(`cannot descend into a ${node === null ? 'null' : typeof node}`);
}

/**
 * Apply `ops` to `doc` in order and return the result. `doc` is not modified: changed containers
 * are copied, unchanged subtrees (and the ops' values) are shared, so treat the result as
 * immutable. Throws `ResilientSocketError('ERR_STATE_GAP')` on a malformed op or one that does
 * not fit the document (a missing member, an index out of range), with `details.index`.
 */
export function applyPatch(doc: Json, ops: readonly PatchOp[]): Json {
  if (!Array.isArray(ops)) throw patchError(-1, undefined, 'the patch is not an array');
  let result = doc;
  ops.forEach((raw: unknown, index) => {
    const fail = (reason: string): never => {
      throw patchError(index, raw, reason);
    };
    if (typeof raw !== 'object' || raw === null) return fail('not an object');
    const op = raw as PatchOp;
    const name: unknown = (raw as { op?: unknown }).op;
    if (name !== 'add' && name !== 'remove' && name !== 'replace') return fail(`unsupported op "${String(name)}"`);
    if (typeof op.path !== 'string') return fail('path is not a string');
    if (op.op !== 'remove' && (op as { value?: unknown }).value === undefined) return fail('value is missing');
    const tokens = parsePointer(op.path);
    if (tokens === null) return fail('malformed JSON Pointer');
    if (tokens.length === 0) {
      if (op.op === 'remove') return fail('cannot remove the whole document');
      result = op.value;
      return undefined;
    }
    result = applyAt(result, tokens, 0, op, fail);
    return undefined;
  });
  return result;
}
