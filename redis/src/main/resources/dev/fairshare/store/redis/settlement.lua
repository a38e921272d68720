-- Replaces a reservation by the real usage (ARGV 18: reservation bucket, 19: reserved tokens,
-- 20: actual tokens, 21: reservation id, 22: '1' to release it: the request did not happen). A
-- refund goes back into the admission bucket while it is in the window; debt is charged now; the
-- in-flight entry goes.
local function settleReservation()
  local resBucket = tonumber(ARGV[18])
  local reserved = tonumber(ARGV[19])
  local actual = tonumber(ARGV[20])
  local rid = ARGV[21]
  local release = ARGV[22] == '1'
  local _, _, _, _, moved = modelTotals() -- prune first: the totals must not count buckets that left the window
  local delta = actual - reserved
  if usePool and capT ~= -1 then
    -- ModelWindow.settle and release: a refund (or the whole reservation) back into the bucket,
    -- debt taken from it.
    if release or delta < 0 then
      poolGiveBack(-delta)
    elseif delta > 0 then
      poolCharge(delta)
    end
  end
  if delta < 0 then
    if resBucket >= start then
      if redis.call('HEXISTS', KEYS[1], resBucket) == 1 then addModel(1, 'T', resBucket, delta, false) end
      if redis.call('HEXISTS', KEYS[5], resBucket) == 1 then redis.call('HINCRBY', KEYS[5], resBucket, delta) end
      if usePool then addDemand(resBucket, delta, true) end
    end
  elseif delta > 0 then
    if usePool then addDemand(b, delta, false) end
    -- The hashes may be new if the call outlived their TTL: give them one.
    addModel(1, 'T', b, delta, false)
    redis.call('HINCRBY', KEYS[5], b, delta)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[10], ttl)
    redis.call('PEXPIRE', KEYS[5], ttl)
  end
  if release and resBucket >= start then
    -- A release: the request did not happen, so it leaves the admission bucket too.
    if redis.call('HEXISTS', KEYS[2], resBucket) == 1 then addModel(2, 'R', resBucket, -1, false) end
    if redis.call('HEXISTS', KEYS[6], resBucket) == 1 then redis.call('HINCRBY', KEYS[6], resBucket, -1) end
  end
  if kP ~= -1 then redis.call('ZREM', KEYS[8], rid) end
  -- The key's calls and tokens in flight (ModelWindow: only while it counts some).
  local flight = redis.call('HMGET', KEYS[7], 'n', 'res')
  local n = tonumber(flight[1]) or 0
  if n > 0 then
    redis.call('HSET', KEYS[7], 'n', n - 1, 'res', math.max(0, (tonumber(flight[2]) or 0) - reserved))
  end
  if moved then touchModel() end
  if usePool then pruneDemandIfDue() end
end
