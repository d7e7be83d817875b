"""The Lua scripts that change shared room state in Redis, each atomically.

Keys (``<p>`` is the prefix, ``collab:`` by default; ``<r>`` a room name):

- ``<p>r:<r>:seq``: the room's counter (``INCR``): ``seq`` is never reused, across processes;
- ``<p>r:<r>:msg``: the history, a stream whose entry ids are ``<seq>-0`` (field ``m``: the
  message's JSON), capped at about ``history_limit`` entries; processes read it to deliver
  messages, in ``seq`` order;
- ``<p>r:<r>:c:<user>:<client_id>``: the ``seq`` stored for a ``client_id`` (deduplication),
  expiring after a day;
- ``<p>r:<r>:users`` (user -> member JSON with its colour), ``<p>r:<r>:n`` (user -> sessions
  in all processes), ``<p>r:<r>:p:<proc>`` (user -> sessions in one process);
- ``<p>r:<r>:ev``: joined/left events (``b``: the event's JSON, ``o``: the process it is from);
- ``<p>r:<r>:pr``: presence, coalesced per process and tick (``o``, ``u``: JSON list);
- ``<p>p:<proc>`` (alive, with a TTL the process refreshes), ``<p>p:<proc>:rooms``,
  ``<p>procs``, ``<p>rooms`` (rooms with members).
"""

from __future__ import annotations

#: KEYS: seq, msg, dedupe. ARGV: the message's JSON without ``seq`` (an object), the
#: history limit, the dedupe key's TTL (s). Returns ``{duplicate (0/1), message JSON}``.
POST = """
local prev = redis.call('GET', KEYS[3])
if prev then
  local found = redis.call('XRANGE', KEYS[2], prev .. '-0', prev .. '-0')
  if #found > 0 then return {1, found[1][2][2]} end
end
local seq = redis.call('INCR', KEYS[1])
local msg = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', msg)
redis.call('SET', KEYS[3], seq, 'EX', ARGV[3])
return {0, msg}
"""

#: KEYS: users, n, p:<proc>, p:<proc>:rooms, rooms. ARGV: room, user, member JSON without
#: colour, then the colours to try in order ('' skipped). Returns ``{first (0/1), users
#: (flat HGETALL), n (flat HGETALL)}``.
JOIN = """
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('SADD', KEYS[4], ARGV[1])
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
local first = 0
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0 then
  local taken = {}
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    local c = cjson.decode(v)['color']
    if type(c) == 'string' then taken[c] = true end
  end
  local color = ARGV[5]
  for i = 4, #ARGV do
    if ARGV[i] ~= '' and not taken[ARGV[i]] then color = ARGV[i]; break end
  end
  local member = cjson.decode(ARGV[3])
  member['color'] = color
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(member))
  redis.call('SADD', KEYS[5], ARGV[1])
  first = 1
end
return {first, redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
"""

#: KEYS: users, n, p:<proc>, p:<proc>:rooms, rooms. ARGV: room, user. Returns ``{last (0/1),
#: member JSON or false, sessions left}``.
LEAVE = """
local mine = redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
if mine <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
if redis.call('HLEN', KEYS[3]) == 0 then redis.call('SREM', KEYS[4], ARGV[1]) end
local member = redis.call('HGET', KEYS[1], ARGV[2])
local total = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if total <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('HDEL', KEYS[1], ARGV[2])
  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[5], ARGV[1]) end
  return {1, member, 0}
end
return {0, member, total}
"""

#: KEYS: procs, p:<dead>:rooms, p:<dead>. ARGV: the dead process, the prefix, now (ms).
#: Takes a process whose heartbeat expired out of every room: its sessions stop counting, and
#: a user with no session left anywhere gets a ``left`` event (from the dead process, so
#: every live one delivers it). Returns 1 when it reaped, 0 when another did (or it lives).
REAP = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local base = ARGV[2] .. 'r:' .. room
  local p = base .. ':p:' .. ARGV[1]
  local counts = redis.call('HGETALL', p)
  for i = 1, #counts, 2 do
    local user = counts[i]
    local total = redis.call('HINCRBY', base .. ':n', user, -tonumber(counts[i + 1]))
    if total <= 0 then
      redis.call('HDEL', base .. ':n', user)
      local member = redis.call('HGET', base .. ':users', user)
      redis.call('HDEL', base .. ':users', user)
      if member then
        local body = '["left",{"room":' .. cjson.encode(room) .. ',"user":' .. member
          .. ',"ts":' .. ARGV[3] .. '}]'
        redis.call('XADD', base .. ':ev', 'MAXLEN', '~', 1000, '*', 'b', body, 'o', ARGV[1])
      end
    end
  end
  redis.call('DEL', p)
  if redis.call('HLEN', base .. ':users') == 0 then
    redis.call('SREM', ARGV[2] .. 'rooms', room)
  end
end
redis.call('DEL', KEYS[2])
return 1
"""
