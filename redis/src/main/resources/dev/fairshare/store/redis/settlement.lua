-- Replaces a reservation by the real usage (ARGV 18: reservation bucket, 19: reserved tokens,
-- 20: actual tokens, 21: reservation id, 22: '1' to release it: the request did not happen; '2'
-- to release it by id alone, if it is in flight: its caller gave up waiting for the admission, so
-- the bucket and tokens are read from its in-flight entry, and without one nothing is done). A
-- refund goes back into the admission bucket while it is in the window; debt is charged now; the
-- in-flight entry goes.
local function settleReservation()
  local resBucket = tonumber(ARGV[18])
  local reserved = tonumber(ARGV[19])
  local actual = tonumber(ARGV[20])
  local rid = ARGV[21]
  local release = ARGV[22]
  local byIdOnly = release == '2'
  release = release ~= '0'
  -- The in-flight entry: as acquire wrote it, or (by id) as found
  local entry = nil
  if byIdOnly then
    -- Only a key with a parallel limit keeps entries; its calls in flight are at most that limit.
    if kP == -1 then return end
    local prefix = rid .. ':'
    for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
      if string.sub(member, 1, #prefix) == prefix then
        entry = member
        break
      end
    end
    if entry == nil then return end
    local found = entry
    local bucketText, tokensText = string.match(found, '^[^:]+:(-?%d+):(-?%d+)$')
    resBucket, reserved, actual = tonumber(bucketText), tonumber(tokensText), 0
  end
  -- Brought to the window first: the totals must not count buckets that left it.
  local s = open({resBucket})
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
  local inWindow = resBucket >= start
  if delta < 0 then
    if inWindow then
      -- Only where the bucket is still counted: a refund never creates one.
      if hasRow(s.mrows, resBucket) then madd(s, T, resBucket, delta) end
      if hasRow(s.krows, resBucket) then kadd(s, U, resBucket, delta) end
      if usePool then addDemand(resBucket, delta, true) end
    end
  elseif delta > 0 then
    if usePool then addDemand(b, delta, false) end
    madd(s, T, b, delta)
    kadd(s, U, b, delta)
    -- The hashes may be new if the call outlived their TTL: give them one.
    s.mtouch, s.ktouch = true, true
  end
  if release and inWindow then
    -- A release: the request did not happen, so it leaves the admission bucket too.
    if hasRow(s.mrows, resBucket) then madd(s, R, resBucket, -1) end
    if hasRow(s.krows, resBucket) then kadd(s, Q, resBucket, -1) end
  end
  if kP ~= -1 then
    -- The entry (and the bare id an older FairShare wrote)
    redis.call('ZREM', KEYS[3], entry or flightMember(rid, resBucket, reserved), rid)
  end
  -- The key's calls and tokens in flight (ModelWindow: only while it counts some).
  if s.n > 0 then
    s.n, s.res, s.kv = s.n - 1, math.max(0, s.res - reserved), true
  end
  flush(s)
  if usePool then pruneDemandIfDue() end
end
