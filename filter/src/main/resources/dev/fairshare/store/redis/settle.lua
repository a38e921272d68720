-- ARGV 13: reservation bucket, 14: reserved tokens, 15: actual tokens, 16: reservation id
local resBucket = tonumber(ARGV[13])
local reserved = tonumber(ARGV[14])
local actual = tonumber(ARGV[15])
local rid = ARGV[16]

local _, _, _, _, moved = modelTotals() -- prune first: the totals must not count buckets that left the window
local delta = actual - reserved
if delta < 0 then
  -- Refund into the admission bucket, while it is still in the window.
  if resBucket >= start then
    if redis.call('HEXISTS', KEYS[1], resBucket) == 1 then addModel(1, 'T', resBucket, delta, false) end
    if redis.call('HEXISTS', KEYS[5], resBucket) == 1 then redis.call('HINCRBY', KEYS[5], resBucket, delta) end
  end
elseif delta > 0 then
  -- Debt is charged now (the hashes may be new if the call outlived their TTL: give them one).
  addModel(1, 'T', b, delta, false)
  redis.call('HINCRBY', KEYS[5], b, delta)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[10], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
end
redis.call('ZREM', KEYS[8], rid)
if moved then touchModel() end

local s = state()
local out = {activeCount(s)}
snapshot(s, out)
return out
