// The Lua scripts through which every change of a namespace is made, atomically and numbered.
import type { Cluster, Redis } from 'ioredis';
import { LAYOUT_VERSION, LIVENESS_GROUP } from './key-layout.js';

/*
 * Every change goes through one of these scripts, so that storing a record, numbering it and
 * appending it to the change stream happen atomically. Invariant the watch relies on: each
 * increment of `seq` writes exactly one stream entry carrying that revision, so a watcher that
 * sees revision n+2 after n knows it lost an entry (the stream was trimmed or replaced).
 *
 * Liveness lives apart from the records: each stored revision has one entry in the `live` stream
 * (id `<revision>-<key hash>`, see liveness-id.ts), pending in the consumer group `roster`. Its
 * idle time, kept by the server's clock, is the time since the last write or heartbeat: a plain
 * heartbeat is one `XCLAIM … JUSTID` of that entry (no script, no record write, no change entry,
 * no reader woken), and `XPENDING … IDLE ttl` finds every record due in one command.
 *
 * Keys are always passed in KEYS (never built inside a script) so that the scripts are valid on
 * Redis Cluster: all of them share the namespace's hash tag.
 */

/** KEYS[1..6] of every script but HISTORY, CLOCK, NOTE_STEP and RELEASE. */
const PRELUDE = `
local records, live, changes, seq, config, clock = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local GROUP = '${LIVENESS_GROUP}'

local function int(n)
  return string.format('%.0f', n)
end

-- The ttl in whole ms: a fractional one rounds up, so a key never goes early.
local function ttl_ms(ttl)
  return math.ceil(tonumber(ttl))
end

-- A forward step of the server's clock seen lately (server-clock.ts, NOTE_STEP), or nil: a record
-- last heartbeated before \`at\` (the server's time when the step was seen) looks older than it is
-- by up to \`step\` ms, so it is due only after ttl + step; one heartbeated since, after the ttl.
-- Returns step, at and the server's time now (nil for a user who may not run TIME: then every
-- record gets the step).
local function clock_step()
  local step = tonumber(redis.call('HGET', clock, 'step'))
  if not step or step <= 0 then return nil end
  local at = tonumber(redis.call('HGET', clock, 'at')) or 0
  local t = redis.pcall('TIME')
  if type(t) ~= 'table' or t.err or not t[2] then return step, at, nil end
  return step, at, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The consumer group that tracks liveness; BUSYGROUP when it exists already. Any other refusal
-- (an ACL without XGROUP CREATE) is raised: swallowed, it would surface later as a NOGROUP that
-- reads like an outage rather than the missing permission.
local function ensure_group()
  local made = redis.pcall('XGROUP', 'CREATE', live, GROUP, '0', 'MKSTREAM')
  if type(made) == 'table' and made.err and not string.find(made.err, 'BUSYGROUP', 1, true) then
    error(made)
  end
end

-- The namespace's ttl, created when missing (first open, or a restart without persistence).
local function config_problem(ttl)
  local stored = redis.call('HGET', config, 'ttl')
  if not stored then
    redis.call('HSET', config, 'ttl', ttl, 'layout', '${LAYOUT_VERSION}')
    ensure_group()
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

local function forget_liveness(entry)
  redis.call('XACK', live, GROUP, entry)
  redis.call('XDEL', live, entry)
end

local function remove(id, entry, reason, maxlen)
  redis.call('HDEL', records, id)
  if entry then forget_liveness(entry) end
  local rev = redis.call('INCR', seq)
  redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 't', 'del', 'k', id, 'r', int(rev), 'why', reason)
  return rev
end

-- True when the liveness entry has been idle (no write, no heartbeat) for ttl ms by the server
-- clock, or for ttl + step when it was last heartbeated before a step of that clock (clock_step).
local function is_due(entry, ttl)
  local ok, pending = pcall(redis.call, 'XPENDING', live, GROUP, 'IDLE', int(ttl_ms(ttl)), entry, entry, 1)
  if not ok or #pending == 0 then return false end
  local step, at, now = clock_step()
  if not step then return true end
  local idle = tonumber(pending[1][3])
  return idle >= ttl_ms(ttl) + step or (now ~= nil and now - idle >= at)
end

-- The current record of id: framed value, revision and liveness entry; an overdue one is
-- deleted first (an 'expired' change), so a record past its deadline is gone for every reader
-- and writer, swept or not. hash: the key's liveness hash (liveness-id.ts).
local function current(id, hash, ttl, maxlen)
  local framed = redis.call('HGET', records, id)
  local rev = revision_of(framed)
  if not rev then return framed, nil, nil end
  local entry = rev .. '-' .. hash
  if is_due(entry, ttl) then
    remove(id, entry, 'expired', maxlen)
    return nil, nil, nil
  end
  return framed, rev, entry
end

-- Deletes the record of a due liveness entry as an 'expired' change (or only the entry, when the
-- record has moved on).
local function expire_entry(entry, maxlen)
  local found = redis.call('XRANGE', live, entry, entry)
  local id = nil
  if found[1] then
    local fields = found[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'k' then id = fields[i + 1] end
    end
  end
  local rev = string.match(entry, '^(%d+)-')
  if id and revision_of(redis.call('HGET', records, id)) == rev then
    remove(id, entry, 'expired', maxlen)
  else
    forget_liveness(entry)
  end
end

-- Deletes up to limit records whose liveness entry is due (is_due), each as an 'expired' change.
-- Idempotent. Returns how many entries it handled (at least limit only when it handled that many).
local function sweep(ttl, limit, maxlen)
  local t = ttl_ms(ttl)
  local step, at, now = clock_step()
  local ok, due = pcall(redis.call, 'XPENDING', live, GROUP, 'IDLE', int(t + (step or 0)), '-', '+', limit)
  if not ok then return 0 end
  for _, item in ipairs(due) do expire_entry(item[1], maxlen) end
  local handled = #due
  -- After a step, the entries heartbeated since it are due after the ttl alone: there are such
  -- entries only once the step was seen a ttl ago.
  if step and now and now - at >= t then
    local ok_since, idle = pcall(redis.call, 'XPENDING', live, GROUP, 'IDLE', int(t), '-', '+', limit)
    if ok_since then
      for _, item in ipairs(idle) do
        if now - tonumber(item[3]) >= at then
          expire_entry(item[1], maxlen)
          handled = handled + 1
        end
      end
    end
  end
  return handled
end
`;

/**
 * KEYS: 6 + history. ARGV: id, value, ttl, expected ('' any, 'absent', or a revision),
 * refreshOnly ('1'/'0'), maxlen, history depth, history retention ms, key hash.
 * Returns {1, revision} or {0} on a failed condition. A refreshOnly put of an existing record
 * only restarts its liveness (no write, same revision); core's heartbeats use the cheaper
 * XCLAIM directly, this path serves unconditional refreshes.
 */
const PUT = `${PRELUDE}
local id, value, ttl, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local maxlen, hash = ARGV[6], ARGV[9]
local framed, rev, entry = current(id, hash, ttl, maxlen)
if expected == '' or expected == 'absent' then
  -- Creating writes (re)create the namespace config, e.g. after a restart without persistence.
  -- A compare-and-set against a revision needs the record, hence the namespace, to exist.
  local problem = config_problem(ttl)
  if problem then return redis.error_reply(problem) end
  if expected == 'absent' and framed then return {0} end
elseif rev ~= expected then
  return {0}
end
if ARGV[5] == '1' and entry then
  redis.call('XCLAIM', live, GROUP, 'roster', 0, entry, 'JUSTID')
  return {1, tonumber(rev)}
end
if entry then forget_liveness(entry) end
local next_rev = redis.call('INCR', seq)
local next_entry = int(next_rev) .. '-' .. hash
redis.call('HSET', records, id, int(next_rev) .. '\\n' .. value)
local added = redis.pcall('XADD', live, next_entry, 'k', id)
if type(added) == 'table' and added.err then
  -- The stream outlived the counter (seq deleted by hand): the revision cannot name a new entry.
  return redis.error_reply('ROSTER_LIVENESS ' .. added.err)
end
redis.call('XCLAIM', live, GROUP, 'roster', 0, next_entry, 'FORCE', 'JUSTID')
redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 't', 'put', 'k', id, 'v', value, 'r', int(next_rev))
-- History holds the value of every write that changed more than lastSeen; a plain heartbeat
-- leaves it alone (the history script shows the current value in place of the newest entry).
if ARGV[5] ~= '1' then
  local history = KEYS[7]
  redis.call('LPUSH', history, value)
  redis.call('LTRIM', history, 0, tonumber(ARGV[7]) - 1)
  redis.call('PEXPIRE', history, ARGV[8])
end
return {1, next_rev}
`;

/**
 * KEYS: records, history. ARGV: id, limit. The stored states, newest first; while the record
 * exists its current value stands in for the newest entry, also when the list itself ran out
 * its retention.
 */
const HISTORY = `
local states = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1)
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then states[1] = string.gsub(current, '^%d+\\n', '', 1) end
return states
`;

/** ARGV: id, expected ('' or a revision), maxlen, reason, ttl, key hash. Returns 1 when deleted. */
const DELETE = `${PRELUDE}
local id, expected, maxlen, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local framed, rev, entry = current(id, ARGV[6], ARGV[5], maxlen)
if not framed then return 0 end
if expected ~= '' and rev ~= expected then return 0 end
remove(id, entry, reason, maxlen)
return 1
`;

/** ARGV: id, maxlen, ttl, key hash. Returns the framed value or nil. */
const GET = `${PRELUDE}
local framed = current(ARGV[1], ARGV[4], ARGV[3], ARGV[2])
return framed or false
`;

/** ARGV: ttl, limit, maxlen. Returns how many liveness entries were due. */
const SWEEP = `${PRELUDE}
return sweep(ARGV[1], tonumber(ARGV[2]), ARGV[3])
`;

/**
 * ARGV: maxlen, ttl. Sweeps, then returns {last stream id, seq, records (flat, framed values)}:
 * a snapshot and the feed position right after it, read in one atomic step.
 */
const LIST = `${PRELUDE}
while sweep(ARGV[2], 1000, ARGV[1]) >= 1000 do end
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
if not config_problem(ARGV[1]) then ensure_group() end
return {redis.call('HGET', config, 'ttl'), redis.call('HGET', config, 'layout') or ''}
`;

/** KEYS: the clock key (only to reach the namespace's server). The server's wall time in ms. */
const CLOCK = `
local t = redis.call('TIME')
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: the clock key. ARGV: step (ms), since and at (the server's time at the readings before and
 * after it), ttl, slack (ms). Records a forward step of the server's clock: `step` is the allowance
 * every deadline check grants (see clock_step), kept until every record heartbeated before the step
 * is due or heartbeated again (ttl + step + slack). Another instance that saw the same step
 * (recorded after our reading before it) adds it neither twice nor later. Returns the allowance.
 */
const NOTE_STEP = `
local stored = tonumber(redis.call('HGET', KEYS[1], 'step')) or 0
local stored_at = tonumber(redis.call('HGET', KEYS[1], 'at')) or 0
local step, at = tonumber(ARGV[1]), tonumber(ARGV[3])
if stored_at > tonumber(ARGV[2]) then
  -- Recorded between our two readings: the same step (seen first by another instance, so it had
  -- happened by then), unless ours is larger (a second step since: then only our sighting holds).
  if step <= stored + 100 then at = math.min(at, stored_at) end
  step = math.max(step, stored)
else
  step = step + stored
end
redis.call('HSET', KEYS[1], 'step', string.format('%.0f', step), 'at', string.format('%.0f', at))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', tonumber(ARGV[4]) + step + tonumber(ARGV[5])))
return step
`;

/** KEYS: a lease. ARGV: holder. Deletes the lease when this holder has it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type Arg = string | Buffer | number;

/** The scripts as commands on a client (ioredis `defineCommand`; EVALSHA with EVAL fallback). */
export interface RosterCommands {
  rosterPutV2(...args: Arg[]): Promise<[number, number] | [number]>;
  rosterDeleteV2(...args: Arg[]): Promise<number>;
  rosterGetV2Buffer(...args: Arg[]): Promise<Buffer | null>;
  rosterSweepV2(...args: Arg[]): Promise<number>;
  rosterListV2Buffer(...args: Arg[]): Promise<[Buffer, Buffer, Buffer[]]>;
  rosterOpenV2(...args: Arg[]): Promise<[string, string]>;
  rosterHistoryV2Buffer(...args: Arg[]): Promise<Buffer[]>;
  rosterReleaseV2(...args: Arg[]): Promise<number>;
  rosterClockV2(...args: Arg[]): Promise<number>;
  rosterNoteStepV2(...args: Arg[]): Promise<number>;
}

/** Adds the scripts to `client` (idempotent; the names are versioned so they never clash). */
export function defineRosterCommands<C extends Redis | Cluster>(client: C): C & RosterCommands {
  client.defineCommand('rosterPutV2', { numberOfKeys: 7, lua: PUT });
  client.defineCommand('rosterDeleteV2', { numberOfKeys: 6, lua: DELETE });
  client.defineCommand('rosterGetV2', { numberOfKeys: 6, lua: GET });
  client.defineCommand('rosterSweepV2', { numberOfKeys: 6, lua: SWEEP });
  client.defineCommand('rosterListV2', { numberOfKeys: 6, lua: LIST });
  client.defineCommand('rosterOpenV2', { numberOfKeys: 6, lua: OPEN });
  client.defineCommand('rosterHistoryV2', { numberOfKeys: 2, lua: HISTORY });
  client.defineCommand('rosterReleaseV2', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('rosterClockV2', { numberOfKeys: 1, lua: CLOCK });
  client.defineCommand('rosterNoteStepV2', { numberOfKeys: 1, lua: NOTE_STEP });
  return client as C & RosterCommands;
}
