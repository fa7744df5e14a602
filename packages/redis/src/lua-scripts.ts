// The Lua scripts through which every change of a namespace is made, atomically and numbered.
import type { Cluster, Redis } from 'ioredis';
import { PRELUDE } from './lua-prelude.js';

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
