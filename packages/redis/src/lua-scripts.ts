import type { Redis } from 'ioredis';
import { LAYOUT_VERSION } from './key-layout.js';

/*
 * Every change goes through one of these scripts, so that storing a record, numbering it and
 * appending it to the change stream happen atomically. Invariant the watch relies on: each
 * increment of `seq` writes exactly one stream entry carrying that revision, so a watcher that
 * sees revision n+2 after n knows it lost an entry (the stream was trimmed or replaced).
 *
 * Keys are always passed in KEYS (never built inside a script) so that the scripts are valid on
 * Redis Cluster: all of them share the namespace's hash tag.
 */

/** KEYS[1..5] of every script. */
const PRELUDE = `
local records, deadlines, changes, seq, config = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local function int(n)
  return string.format('%.0f', n)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The namespace's ttl, created when missing (first open, or a restart without persistence).
local function config_problem(ttl)
  local stored = redis.call('HGET', config, 'ttl')
  if not stored then
    redis.call('HSET', config, 'ttl', ttl, 'layout', '${LAYOUT_VERSION}')
    return nil
  end
  if stored ~= ttl then
    return 'ROSTER_CONFIG_MISMATCH ' .. stored
  end
  return nil
end

-- A stored value is framed: '<revision>\\n<record bytes>'. Anything else was written by another tool.
local function revision_of(framed)
  if not framed then return nil end
  return string.match(framed, '^(%d+)\\n')
end

local function remove(id, reason, maxlen)
  redis.call('HDEL', records, id)
  redis.call('ZREM', deadlines, id)
  local rev = redis.call('INCR', seq)
  redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 't', 'del', 'k', id, 'r', int(rev), 'why', reason)
  return rev
end

-- Deletes up to limit records whose deadline passed, each as an 'expired' change. Idempotent.
local function sweep(now, limit, maxlen)
  local due
  if limit then
    due = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, limit)
  else
    due = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now)
  end
  for _, id in ipairs(due) do
    remove(id, 'expired', maxlen)
  end
  return #due
end

-- A record past its deadline is gone for every reader and writer, swept or not.
local function expire_if_due(id, now, maxlen)
  local deadline = redis.call('ZSCORE', deadlines, id)
  if deadline and tonumber(deadline) <= now then
    remove(id, 'expired', maxlen)
    return true
  end
  return false
end
`;

/**
 * KEYS: 5 + history. ARGV: id, value, ttl, expected ('' any, 'absent', or a revision),
 * refreshOnly ('1'/'0'), maxlen, history depth, history retention ms.
 * Returns {1, revision} or {0} on a failed condition.
 */
const PUT = `${PRELUDE}
local id, value, ttl, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxlen = ARGV[6]
local now = now_ms()
expire_if_due(id, now, maxlen)
if expected == '' or expected == 'absent' then
  -- Creating writes (re)create the namespace config, e.g. after a restart without persistence.
  -- A compare-and-set against a revision needs the record, hence the namespace, to exist.
  local problem = config_problem(ttl)
  if problem then return redis.error_reply(problem) end
  if expected == 'absent' and redis.call('HEXISTS', records, id) == 1 then return {0} end
elseif revision_of(redis.call('HGET', records, id)) ~= expected then
  return {0}
end
local rev = redis.call('INCR', seq)
redis.call('HSET', records, id, int(rev) .. '\\n' .. value)
redis.call('ZADD', deadlines, int(now + tonumber(ttl)), id)
redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 't', 'put', 'k', id, 'v', value, 'r', int(rev))
-- History holds the value of every write that changed more than lastSeen; a plain heartbeat
-- leaves it alone (the history script shows the current value in place of the newest entry).
if ARGV[5] ~= '1' then
  local history = KEYS[6]
  redis.call('LPUSH', history, value)
  redis.call('LTRIM', history, 0, tonumber(ARGV[7]) - 1)
  redis.call('PEXPIRE', history, ARGV[8])
end
return {1, rev}
`;

/**
 * KEYS: records, history. ARGV: id, limit. The stored states, newest first; while the record
 * exists its current value (fresher lastSeen) stands in for the newest entry, also when the
 * list itself ran out its retention.
 */
const HISTORY = `
local states = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then states[1] = string.gsub(current, '^%d+\\n', '', 1) end
return states
`;

/** ARGV: id, expected ('' or a revision), maxlen, reason. Returns 1 when deleted. */
const DELETE = `${PRELUDE}
local id, expected, maxlen, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if expire_if_due(id, now_ms(), maxlen) then return 0 end
if redis.call('HEXISTS', records, id) == 0 then return 0 end
if expected ~= '' and revision_of(redis.call('HGET', records, id)) ~= expected then return 0 end
remove(id, reason, maxlen)
return 1
`;

/** ARGV: id, maxlen. Returns the framed value or nil. */
const GET = `${PRELUDE}
local id, maxlen = ARGV[1], ARGV[2]
if expire_if_due(id, now_ms(), maxlen) then return false end
return redis.call('HGET', records, id)
`;

/** ARGV: limit, maxlen. Returns how many records expired. */
const SWEEP = `${PRELUDE}
return sweep(now_ms(), tonumber(ARGV[1]), ARGV[2])
`;

/**
 * ARGV: maxlen. Sweeps, then returns {last stream id, seq, records (flat, framed values)}:
 * a snapshot and the feed position right after it, read in one atomic step.
 */
const LIST = `${PRELUDE}
sweep(now_ms(), nil, ARGV[1])
local last = '0-0'
if redis.call('EXISTS', changes) == 1 then
  local info = redis.call('XINFO', 'STREAM', changes)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
return {last, redis.call('GET', seq) or '0', redis.call('HGETALL', records)}
`;

/** ARGV: ttl. Creates the namespace config or returns the stored one: {ttl, layout}. */
const OPEN = `${PRELUDE}
config_problem(ARGV[1])
return {redis.call('HGET', config, 'ttl'), redis.call('HGET', config, 'layout') or ''}
`;

type Arg = string | Buffer | number;

/** The scripts as commands on a client (ioredis `defineCommand`; EVALSHA with EVAL fallback). */
export interface RosterCommands {
  rosterPutV1(...args: Arg[]): Promise<[number, number] | [number]>;
  rosterDeleteV1(...args: Arg[]): Promise<number>;
  rosterGetV1Buffer(...args: Arg[]): Promise<Buffer | null>;
  rosterSweepV1(...args: Arg[]): Promise<number>;
  rosterListV1Buffer(...args: Arg[]): Promise<[Buffer, Buffer, Buffer[]]>;
  rosterOpenV1(...args: Arg[]): Promise<[string, string]>;
  rosterHistoryV1Buffer(...args: Arg[]): Promise<Buffer[]>;
}

/** Adds the scripts to `client` (idempotent; the names are versioned so they never clash). */
export function defineRosterCommands(client: Redis): Redis & RosterCommands {
  client.defineCommand('rosterPutV1', { numberOfKeys: 6, lua: PUT });
  client.defineCommand('rosterDeleteV1', { numberOfKeys: 5, lua: DELETE });
  client.defineCommand('rosterGetV1', { numberOfKeys: 5, lua: GET });
  client.defineCommand('rosterSweepV1', { numberOfKeys: 5, lua: SWEEP });
  client.defineCommand('rosterListV1', { numberOfKeys: 5, lua: LIST });
  client.defineCommand('rosterOpenV1', { numberOfKeys: 5, lua: OPEN });
  client.defineCommand('rosterHistoryV1', { numberOfKeys: 2, lua: HISTORY });
  return client as Redis & RosterCommands;
}
