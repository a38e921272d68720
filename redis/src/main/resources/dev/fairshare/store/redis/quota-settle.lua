-- Settles (or releases) one call's hold: its reservation leaves each counter, its actual amount is
-- added (QuotaLedger.settle, mirrored by MemoryQuotaLedger). A counter whose period Redis no longer
-- holds is skipped: the key database has the charge (SpendRecorder).
-- KEYS: as quota-reserve.lua.
-- ARGV: hold id, n; then per counter: the amount reserved, the actual amount, the alert level (-1:
--   none).
-- Returns the counters (1-based) whose alert level this crossed, each once per period: HSETNX on
--   'alerted' makes one instance the one that tells.
local hold = ARGV[1]
local n = tonumber(ARGV[2])
local crossed = {}
for i = 1, n do
  local base = 2 + 3 * (i - 1)
  local h = KEYS[2 * i - 1]
  if redis.call('EXISTS', h) == 1 then
    local reserved = tonumber(ARGV[base + 1])
    if redis.call('ZREM', KEYS[2 * i], hold .. '|' .. ARGV[base + 1]) == 1 and reserved > 0 then
      redis.call('HINCRBY', h, 'reserved', -reserved)
    end
    local actual = tonumber(ARGV[base + 2])
    if actual ~= 0 then
      local after = redis.call('HINCRBY', h, 'used', ARGV[base + 2])
      local alertAt = tonumber(ARGV[base + 3])
      if alertAt >= 0 and after - actual < alertAt and after >= alertAt then
        if redis.call('HSETNX', h, 'alerted', 1) == 1 then
          crossed[#crossed + 1] = i
        end
      end
    end
  end
end
return crossed
