-- Reserves one call's charges on its budget and quota counters, all or none (QuotaLedger.reserve,
-- mirrored by MemoryQuotaLedger).
-- KEYS: per counter i: KEYS[2i-1] its hash (used, reserved, alerted) in the period, KEYS[2i] its
--   holds (member "<hold id>|<amount>", score: when the hold lapses).
-- ARGV: now, hold id, lapse time, n; then per counter: limit (-1: none, the counter is only
--   tracked), amount, seed (-1: not read yet),
--   time to live in ms.
-- Returns {1} reserved; {0, i, counted} refused by counter i; {-1, i...} counters whose period
--   Redis does not hold: read their seeds from the key database and call again.
local now = tonumber(ARGV[1])
local hold = ARGV[2]
local lapse = tonumber(ARGV[3])
local n = tonumber(ARGV[4])

local missing = {}
for i = 1, n do
  local base = 4 + 4 * (i - 1)
  local h = KEYS[2 * i - 1]
  if redis.call('EXISTS', h) == 0 then
    local seed = tonumber(ARGV[base + 3])
    if seed < 0 then
      missing[#missing + 1] = i
    else
            redis.call('HSET', h, 'used', ARGV[base + 3], 'reserved', 0)
      -- Holds left from a hash that was lost (evicted, deleted) would take back what the new one
      -- never reserved.
      redis.call('DEL', KEYS[2 * i])
      redis.call('PEXPIRE', h, ARGV[base + 4])
    end
  end
end
if #missing > 0 then
  table.insert(missing, 1, -1)
  return missing
end

for i = 1, n do
  local h = KEYS[2 * i - 1]
  local holds = KEYS[2 * i]
  -- Holds of calls never settled (an instance that died mid-call) let go of their reservation.
  local lapsed = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
  if #lapsed > 0 then
    local total = 0
    for _, member in ipairs(lapsed) do
      total = total + tonumber(string.match(member, '|(%d+)$'))
    end
    if total > 0 then
      redis.call('HINCRBY', h, 'reserved', -total)
    end
    redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
  end
end

for i = 1, n do
  local base = 4 + 4 * (i - 1)
  local v = redis.call('HMGET', KEYS[2 * i - 1], 'used', 'reserved')
  local counted = tonumber(v[1]) + tonumber(v[2])
    local limit = tonumber(ARGV[base + 1])
  if limit >= 0 and counted > limit - tonumber(ARGV[base + 2]) then
    return {0, i, counted}
  end
end

for i = 1, n do
  local base = 4 + 4 * (i - 1)
  local h = KEYS[2 * i - 1]
  local amount = ARGV[base + 2]
  redis.call('HINCRBY', h, 'reserved', amount)
  redis.call('ZADD', KEYS[2 * i], lapse, hold .. '|' .. amount)
  redis.call('PEXPIRE', h, ARGV[base + 4])
  redis.call('PEXPIRE', KEYS[2 * i], ARGV[base + 4])
end
return {1}
