// The Lua functions every namespace script starts with: its six keys, the deadline check by the
// server clock, and the removal of a record as a numbered change (see lua-scripts.ts for the scripts).
import { LAYOUT_VERSION, LIVENESS_GROUP } from './key-layout.js';

/** KEYS[1..6] of every script but HISTORY, CLOCK, NOTE_STEP and RELEASE. */
export const PRELUDE = `
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
