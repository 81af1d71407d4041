/**
 * The Lua scripts of the Redis store. Each one is a single atomic write: Redis runs a script
 * to completion before any other command, so a check and the write it guards (dedup + append,
 * ZREM + DEL of an expired session, version check + event) cannot interleave with another
 * instance. Scripts touch several keys of one prefix, so they need one Redis (or a
 * Sentinel-managed primary), not Redis Cluster. Requires Redis >= 6.2 (`XTRIM MINID`).
 *
 * Conventions: time (`now`, ms since epoch) always comes from the caller's clock, never from
 * Redis `TIME`, so every instance and the tests agree on one clock; numbers travel as strings.
 *
 * @internal
 */

/**
 * Dedup check shared by the sequenced scripts. Needs `local now` and the session key in
 * `sessionKey`; returns a refusal table or nil when `seq` is exactly `lastSeq + 1`.
 */
const CHECK_SEQ = `
local function checkSeq(sessionKey, seq, now)
  local s = redis.call('HMGET', sessionKey, 'lastSeq', 'expiresAt')
  if not s[1] then return {'no_session'} end
  if s[2] and s[2] ~= '' and tonumber(s[2]) <= now then return {'no_session'} end
  local last = tonumber(s[1])
  if seq <= last then return {'duplicate', last} end
  if seq > last + 1 then return {'out_of_order', last} end
  return nil
end
`;

/**
 * Stream helpers: create the epoch of a new (or lost) stream; trim by age from the head; keep
 * the meta for its idle limit (`keepFor`). The idle limit is the `idle` field of the meta (set by
 * the appends that name one), else the store's default passed in by the caller; 0 = never
 * forget. An expired meta is a forgotten stream: its next use starts a new epoch.
 */
const STREAM_HELPERS = `
local function ensureEpoch(streamKey, metaKey, newEpoch)
  local epoch = redis.call('HGET', metaKey, 'epoch')
  if epoch then return epoch end
  -- No meta: a new stream, or its meta was lost. Offsets restart at 1 under a new epoch, so
  -- any leftover history (whose IDs would collide) goes too.
  redis.call('DEL', streamKey)
  redis.call('HSET', metaKey, 'epoch', newEpoch, 'last', 0)
  return newEpoch
end
local function offsetOf(id) return tonumber(string.match(id, '^(%d+)')) end
-- Entries are stored in ts order (append order), so trimming stops at the first young one.
local function trimAge(streamKey, cutoff)
  for _ = 1, 100000 do
    local head = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', 1)
    if #head == 0 or tonumber(head[1][2][2]) >= cutoff then return end
    local batch = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', 128)
    local keep = nil
    for _, e in ipairs(batch) do
      if tonumber(e[2][2]) >= cutoff then keep = e[1]; break end
    end
    if keep then
      redis.call('XTRIM', streamKey, 'MINID', keep)
      return
    end
    redis.call('XTRIM', streamKey, 'MINID', (offsetOf(batch[#batch][1]) + 1) .. '-0')
  end
end
-- \`idle\` is the meta's field as read (false when absent: then \`default\`). The limit goes to
-- PEXPIRE as a string: Lua would print a large number as 1e+15.
local function keepFor(metaKey, idle, default)
  if not idle or idle == '' then idle = default end
  if tonumber(idle) > 0 then redis.call('PEXPIRE', metaKey, idle) else redis.call('PERSIST', metaKey) end
end
local function firstOffset(streamKey, last)
  local head = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', 1)
  if #head == 0 then return last + 1 end
  return offsetOf(head[1][1])
end
`;

/**
 * APPEND. KEYS: stream, stream meta, session (any key when no dedup).
 * ARGV: now, maxCount, maxAgeMs, body JSON, candidate epoch, seq ('' = no dedup), channel,
 * idle limit ms ('' = keep the meta's), default idle limit ms, history TTL ms.
 * Checks and advances the session's `lastSeq` (dedup), assigns `last + 1` as the offset
 * (entry ID `<offset>-0`, fields `t` = ts and `b` = body), trims by count and age, and PUBLISHes
 * `epoch \n offset \n ts \n body` in the same script, so every instance sees entries in
 * offset order. The stream key then expires after the history TTL (the age limit plus a margin:
 * by then every entry has aged out, so an idle stream's history leaves Redis without waiting
 * for the next touch) and the meta after its idle limit. Returns {'appended', offset, epoch} or
 * a dedup refusal; a refusal writes nothing.
 */
export const APPEND = `${CHECK_SEQ}${STREAM_HELPERS}
local now = tonumber(ARGV[1])
if ARGV[6] ~= '' then
  local seq = tonumber(ARGV[6])
  local refused = checkSeq(KEYS[3], seq, now)
  if refused then return refused end
  redis.call('HSET', KEYS[3], 'lastSeq', seq)
end
local epoch = ensureEpoch(KEYS[1], KEYS[2], ARGV[5])
local offset = redis.call('HINCRBY', KEYS[2], 'last', 1)
local idle = ARGV[8]
if idle ~= '' then redis.call('HSET', KEYS[2], 'age', ARGV[3], 'idle', idle)
else
  redis.call('HSET', KEYS[2], 'age', ARGV[3])
  idle = redis.call('HGET', KEYS[2], 'idle')
end
redis.call('XADD', KEYS[1], offset .. '-0', 't', ARGV[1], 'b', ARGV[4])
redis.call('XTRIM', KEYS[1], 'MAXLEN', tonumber(ARGV[2]))
trimAge(KEYS[1], now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[10])
keepFor(KEYS[2], idle, ARGV[9])
redis.call('PUBLISH', ARGV[7], epoch .. '\\n' .. offset .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[4])
return {'appended', offset, epoch}
`;

/**
 * READ (also `info` with limit 0). KEYS: stream, stream meta. ARGV: now, candidate epoch,
 * afterOffset, limit, default idle limit ms. Creates the epoch of a new stream, restarts the
 * meta's idle limit, trims by the age limit of the latest append, then returns
 * {epoch, firstOffset, lastOffset, entries}.
 */
export const READ = `${STREAM_HELPERS}
local epoch = ensureEpoch(KEYS[1], KEYS[2], ARGV[2])
local meta = redis.call('HMGET', KEYS[2], 'last', 'age', 'idle')
keepFor(KEYS[2], meta[3], ARGV[5])
local last = tonumber(meta[1])
if meta[2] then trimAge(KEYS[1], tonumber(ARGV[1]) - tonumber(meta[2])) end
local limit = tonumber(ARGV[4])
local entries = {}
if limit > 0 then
  entries = redis.call('XRANGE', KEYS[1], (tonumber(ARGV[3]) + 1) .. '-0', '+', 'COUNT', limit)
end
return {epoch, firstOffset(KEYS[1], last), last, entries}
`;

/**
 * TOUCH_STREAMS. KEYS: stream metas (any number: `RedisLink.script` sends the count with each
 * call). ARGV: default idle limit ms. Restarts the idle limit of each meta that exists (streams
 * with subscribers, and one whose last subscriber left); creates nothing. Returns 1.
 */
export const TOUCH_STREAMS = `${STREAM_HELPERS}
for _, metaKey in ipairs(KEYS) do
  -- A missing meta stays missing: PEXPIRE and PERSIST create nothing.
  keepFor(metaKey, redis.call('HGET', metaKey, 'idle'), ARGV[1])
end
return 1
`;

/**
 * Instance liveness helpers. An owner string is `<instanceId>/<connectionId>`; the sessions an
 * instance holds are indexed in `P owned:<instanceId>` so that the sessions of a dead instance
 * can be found (RECLAIM). `prefix` is the key prefix `P`.
 */
const OWNERS = `
local function instanceOf(owner) return string.match(owner, '^([^/]*)') end
local function own(prefix, owner, id, now)
  if not owner or owner == '' then return end
  local instance = instanceOf(owner)
  redis.call('SADD', prefix .. 'owned:' .. instance, id)
  redis.call('ZADD', prefix .. 'instances', 'NX', now, instance)
end
local function disown(prefix, owner, id)
  if not owner or owner == '' then return end
  redis.call('SREM', prefix .. 'owned:' .. instanceOf(owner), id)
end
`;

/**
 * CREATE_SESSION. KEYS: session, expiry zset. ARGV: id, expiresAt ('' = attached), key prefix,
 * now, then field/value pairs. Replaces the hash, indexes (or unindexes) its expiry and indexes
 * its owner's instance.
 */
export const CREATE_SESSION = `${OWNERS}
disown(ARGV[3], redis.call('HGET', KEYS[1], 'owner'), ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'expiresAt', ARGV[2], unpack(ARGV, 5))
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
own(ARGV[3], redis.call('HGET', KEYS[1], 'owner'), ARGV[1], ARGV[4])
return 1
`;

/** Liveness check shared by the session scripts: exists and not past its expiry. */
const LIVE = `
local function live(sessionKey, now)
  local s = redis.call('HMGET', sessionKey, 'lastSeq', 'expiresAt')
  if not s[1] then return false end
  if s[2] and s[2] ~= '' and tonumber(s[2]) <= now then return false end
  return true
end
`;

/** UPDATE_SESSION. KEYS: session. ARGV: now, field/value pairs. Returns 1, or 0 when not live. */
export const UPDATE_SESSION = `${LIVE}
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

/**
 * ATTACH. KEYS: session, expiry zset. ARGV: now, owner, id, key prefix. Sets the owner, clears
 * and unindexes the expiry, moves the session to the new owner's instance index. Returns
 * {1, previous owner or ''} or {0} when not live.
 */
export const ATTACH = `${LIVE}${OWNERS}
if not live(KEYS[1], tonumber(ARGV[1])) then return {0} end
local previous = redis.call('HGET', KEYS[1], 'owner') or ''
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'expiresAt', '')
redis.call('ZREM', KEYS[2], ARGV[3])
disown(ARGV[4], previous, ARGV[3])
own(ARGV[4], ARGV[2], ARGV[3], ARGV[1])
return {1, previous}
`;

/**
 * RESUME. KEYS: session, expiry zset. ARGV: now, owner, id, key prefix, presented token hash
 * ('' = no check), field/value pairs. Only while the presented hash is still the tokenHash or
 * prevTokenHash: UPDATE_SESSION with those pairs, then ATTACH, in one step. Returns {1, previous
 * owner or '', the session hash as HGETALL gives it}, {0} when not live, {2} when the token was
 * retired meanwhile.
 */
export const RESUME = `${LIVE}${OWNERS}
if not live(KEYS[1], tonumber(ARGV[1])) then return {0} end
if ARGV[5] ~= '' then
  local held = redis.call('HMGET', KEYS[1], 'tokenHash', 'prevTokenHash')
  if held[1] ~= ARGV[5] and held[2] ~= ARGV[5] then return {2} end
end
if #ARGV > 5 then redis.call('HSET', KEYS[1], unpack(ARGV, 6)) end
local previous = redis.call('HGET', KEYS[1], 'owner') or ''
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'expiresAt', '')
redis.call('ZREM', KEYS[2], ARGV[3])
disown(ARGV[4], previous, ARGV[3])
own(ARGV[4], ARGV[2], ARGV[3], ARGV[1])
return {1, previous, redis.call('HGETALL', KEYS[1])}
`;

/**
 * DETACH. KEYS: session, expiry zset. ARGV: now, owner, ttlMs, id, key prefix. Only when
 * `owner` holds the session: clears the owner, sets expiresAt = now + ttl and indexes it.
 * Returns 1 or 0.
 */
export const DETACH = `${LIVE}${OWNERS}
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
local expiresAt = tonumber(ARGV[1]) + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'owner', '', 'expiresAt', expiresAt)
redis.call('ZADD', KEYS[2], expiresAt, ARGV[4])
disown(ARGV[5], ARGV[2], ARGV[4])
return 1
`;

/**
 * DELETE_SESSION. KEYS: session, expiry zset. ARGV: id, key prefix. Deletes the hash and
 * removes the id from the expiry and owner indexes.
 */
export const DELETE_SESSION = `${OWNERS}
disown(ARGV[2], redis.call('HGET', KEYS[1], 'owner'), ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

/**
 * HEARTBEAT. KEYS: instance key, instances zset. ARGV: instance id, ttlMs, now. Refreshes the
 * instance's liveness key (expiring after ttlMs on Redis's clock) and records the instance.
 * Returns 1 when the key still existed, 0 when it had lapsed (or never existed).
 */
export const HEARTBEAT = `
local was = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[3], 'PX', tonumber(ARGV[2]))
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
return was
`;

/**
 * RECLAIM. KEYS: instances zset, expiry zset. ARGV: now, ttlMs, graceMs, limit, key prefix.
 * For each instance first seen at least graceMs ago whose liveness key is gone: takes up to
 * `limit` ids (in total) from its owner index and detaches those the instance still holds
 * (owner cleared, expiresAt = now + ttl, indexed), so the normal expiry ends them unless their
 * clients resume. An instance with nothing left is forgotten. Returns the detached ids.
 */
export const RECLAIM = `${OWNERS}
local now = tonumber(ARGV[1])
local budget = tonumber(ARGV[4])
local prefix = ARGV[5]
local detached = {}
local candidates = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
for _, instance in ipairs(candidates) do
  if budget <= 0 then break end
  if redis.call('EXISTS', prefix .. 'instance:' .. instance) == 0 then
    local ownedKey = prefix .. 'owned:' .. instance
    local ids = redis.call('SRANDMEMBER', ownedKey, budget)
    for _, id in ipairs(ids) do
      budget = budget - 1
      redis.call('SREM', ownedKey, id)
      local sessionKey = prefix .. 'session:' .. id
      local owner = redis.call('HGET', sessionKey, 'owner')
      if owner and owner ~= '' and instanceOf(owner) == instance then
        local expiresAt = now + tonumber(ARGV[2])
        redis.call('HSET', sessionKey, 'owner', '', 'expiresAt', expiresAt)
        redis.call('ZADD', KEYS[2], expiresAt, id)
        detached[#detached + 1] = id
      end
    end
    if redis.call('SCARD', ownedKey) == 0 then redis.call('ZREM', KEYS[1], instance) end
  end
end
return detached
`;

/**
 * TAKE_EXPIRED. KEYS: expiry zset. ARGV: now, limit, session key prefix. Removes up to `limit`
 * ids with expiry <= now from the index and deletes their hashes; the script is the single
 * winner for each id, so two instances never both receive it.
 */
export const TAKE_EXPIRED = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', ARGV[3] .. id)
end
return ids
`;

/**
 * ADVANCE_SEQ. KEYS: session. ARGV: now, seq, field/value pairs. Dedup check, then sets
 * `lastSeq` and the fields together. Returns {'ok'} or a refusal.
 */
export const ADVANCE_SEQ = `${CHECK_SEQ}
local refused = checkSeq(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[1]))
if refused then return refused end
redis.call('HSET', KEYS[1], 'lastSeq', ARGV[2], unpack(ARGV, 3))
return {'ok'}
`;

/**
 * APPEND_STATE. KEYS: events stream, version, session (any key when no dedup).
 * ARGV: now, expectedVersion, encoding, data, seq ('' = no dedup), channel.
 * Dedup check first (a duplicate is reported even if the version moved), then the version
 * check (a conflict does not consume the seq), then seq + version + event (ID `<version>-0`)
 * and a PUBLISH of the version. Returns {'appended', v}, {'conflict', v} or a refusal.
 */
export const APPEND_STATE = `${CHECK_SEQ}
local seq = nil
if ARGV[5] ~= '' then
  seq = tonumber(ARGV[5])
  local refused = checkSeq(KEYS[3], seq, tonumber(ARGV[1]))
  if refused then return refused end
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[2]) then return {'conflict', current} end
if seq then redis.call('HSET', KEYS[3], 'lastSeq', seq) end
-- Version 0 means no history: drop any leftover events so their IDs cannot collide.
if current == 0 then redis.call('DEL', KEYS[1]) end
local version = current + 1
redis.call('SET', KEYS[2], version)
redis.call('XADD', KEYS[1], version .. '-0', 'e', ARGV[3], 'd', ARGV[4])
redis.call('PUBLISH', ARGV[6], version)
return {'appended', version}
`;

/**
 * PUT_SNAPSHOT. KEYS: snapshot hash, events stream. ARGV: version, encoding, data, ts.
 * Ignores a snapshot not newer than the stored one; otherwise stores it and drops the events
 * it covers. Returns 1 when stored, 0 when ignored.
 */
export const PUT_SNAPSHOT = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'encoding', ARGV[2], 'data', ARGV[3], 'ts', ARGV[4])
redis.call('XTRIM', KEYS[2], 'MINID', (tonumber(ARGV[1]) + 1) .. '-0')
return 1
`;
