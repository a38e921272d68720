-- ARGV 18: estimate, 19: reservation id, 20: in-flight entry lifetime (ms); read by acquireOne
local est, rid, flightTtl

-- Time until the same request would be admitted with no other traffic: replays the window's
-- buckets leaving it, oldest first (ModelWindow.retryAfter). Only the first bucket and those that
-- hold something are decided: leaving an empty bucket changes nothing, so it decides as the one
-- before it did.
local function retryAfter(s, verdict)
  if verdict == KEY_PARALLEL_LIMIT then return bm end
  if mode == 1 then return minuteEnd - now end
  local retry = N * bm
  local Um, Qm, Uk, Qk, Wo, Co, act = s.Um, s.Qm, s.Uk, s.Qk, s.Wo, s.Co, s.act
  local m, k = allColumns(KEYS[1], s.me, MODEL_WIDTH), allColumns(KEYS[2], s.ke, KEY_WIDTH)
  local mt, mr, maw, mac, kt, kr = m[T], m[R], m[AW], m[AC], k[U], k[Q]
  local held = {[start] = true}
  for _, col in ipairs({mt, mr, maw, mac, kt, kr}) do
    for x, v in pairs(col) do
      if v ~= 0 and x <= b then held[x] = true end
    end
  end
  if act and s.last <= b then held[s.last] = true end
  local buckets = {}
  for x in pairs(held) do buckets[#buckets + 1] = x end
  table.sort(buckets)
  for _, x in ipairs(buckets) do
    Um = Um - (mt[x] or 0)
    Qm = Qm - (mr[x] or 0)
    Wo = Wo - (maw[x] or 0)
    Co = Co - (mac[x] or 0)
    Uk = Uk - (kt[x] or 0)
    Qk = Qk - (kr[x] or 0)
    if act and s.last == x then
      act = false
      Wo = Wo + s.kw
      Co = Co + 1
    end
    if evaluate(Um, Qm, Uk, Qk, math.max(0, Wo), Co, act, s.inflight, est, false) == ADMITTED then
      retry = (x + N) * bm - now
      break
    end
  end
  return retry
end

local function isKeyLimit(verdict)
  return verdict == KEY_PARALLEL_LIMIT or verdict == KEY_REQUEST_LIMIT or verdict == KEY_TOKEN_LIMIT
end

-- A refusal: `retry` when known (else the window's replay); `starve` stops borrowing for a
-- window; a key turned away by the model still wants its share: it counts as active from now on.
local function refuse(s, verdict, starve, retry)
  if starve then madd(s, S, b, 1) end
  if retry == nil then retry = retryAfter(s, verdict) end
  local out = {verdict, 0, b, retry, activeCount(s)}
  snapshot(s, out)
  if mode == 0 and not isKeyLimit(verdict) then
    markActive(s)
    if redis.call('HINCRBY', KEYS[8], b, 1) == 1 then
      -- The key's first refusal in this bucket: what left the window goes.
      local stale = {}
      for _, x in ipairs(redis.call('HKEYS', KEYS[8])) do
        if tonumber(x) < start then stale[#stale + 1] = x end
      end
      if #stale > 0 then redis.call('HDEL', KEYS[8], unpack(stale)) end
      redis.call('PEXPIRE', KEYS[8], ttl)
    end
  end
  flush(s)
  return out
end

-- Reserves `reserved` tokens and one request.
local function admit(s, reserved)
  madd(s, T, b, reserved)
  madd(s, R, b, 1)
  kadd(s, U, b, reserved)
  kadd(s, Q, b, 1)
  s.res, s.n, s.kv = s.res + reserved, s.n + 1, true
  if usePool then addDemand(b, reserved, false) end
  markActive(s)
  if kP ~= -1 then
    redis.call('ZADD', KEYS[3], now + flightTtl, flightMember(rid, b, reserved))
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
  flush(s)

  s.Um = s.Um + reserved
  s.Qm = s.Qm + 1
  s.Uk = s.Uk + reserved
  s.Qk = s.Qk + 1
  s.act = true
  local out = {0, reserved, b, 0, activeCount(s)}
  snapshot(s, out)
  return out
end

-- ModelWindow.decideFromPool: the key's own limits, then the tokens from the bucket, then the
-- requests in the sliding window.
local function acquireFromPool(s)
  if kP ~= -1 and s.inflight >= kP then return refuse(s, KEY_PARALLEL_LIMIT, false, nil) end
  if kR ~= -1 and s.Qk >= kR then return refuse(s, KEY_REQUEST_LIMIT, false, nil) end
  if kT ~= -1 and s.Uk >= kT then return refuse(s, KEY_TOKEN_LIMIT, false, nil) end
  -- A model closed to tokens: nothing refills, and a new bucket must not start full.
  if capT == 0 then return refuse(s, MODEL_TOKENS, false, winMs) end
  local room, p, mine = nil, nil, nil
  if capT ~= -1 then
    local c = cost(capT, est, s.Wo)
    local used = s.Uk + c - 1 -- the request's last token starts within the share
    local standing = BORROWING
    if capT * w / (s.Wo + w) - used > EPS then
      standing = GUARANTEED
    elseif shareLevel() * w - used > EPS then
      standing = WITHIN_SHARE
    end
    local admitted, retry
    admitted, room, retry, p, mine = poolJudge(c, standing, s.Uk / w)
    if not admitted then
      local verdict = MODEL_TOKENS
      if standing == BORROWING then verdict = SHARE_TOKENS end
      local out = refuse(s, verdict, false, retry)
      addDemand(b, est, false)
      return out
    end
  end
  if capR ~= -1 then
    local verdict = ADMITTED
    if not modelFits(capR, s.Qm, 1) then
      verdict = MODEL_REQUESTS
    elseif not mayTake(capR, s.Qm, s.Qk, 1, s.Wo, s.Co, s.act, s.starved) then
      verdict = SHARE_REQUESTS
    end
    if verdict ~= ADMITTED then
      if p ~= nil then poolSave(p) end -- refilled, nothing taken
      local owed = verdict == MODEL_REQUESTS and withinShare(capR, s.Qk, 1, s.Wo)
      return refuse(s, verdict, owed, nil)
    end
  end
  local reserved = est
  if kT ~= -1 then reserved = math.max(0, math.min(reserved, kT - s.Uk)) end
  if p ~= nil then
    -- Never more than the bucket holds above the tickets ahead and the reserve.
    reserved = math.min(reserved, room)
    poolTake(p, mine, reserved)
  end
  return admit(s, reserved)
end

-- One admission of the bound call: the verdict, the reservation and the key's standing.
local function acquireOne()
  est = tonumber(ARGV[18])
  rid = ARGV[19]
  flightTtl = tonumber(ARGV[20])
  local s = state()
  if usePool then
    local out = acquireFromPool(s)
    pruneDemandIfDue() -- after: a share level computed above has pruned already
    return out
  end

  local verdict = evaluate(s.Um, s.Qm, s.Uk, s.Qk, s.Wo, s.Co, s.act, s.inflight, est, s.starved)
  if verdict ~= ADMITTED then
    -- Turned away for want of model capacity while within its share: owed capacity, no borrowing.
    local owed = mode == 0 and ((verdict == MODEL_TOKENS and withinShare(capT, s.Uk, cost(capT, est, s.Wo), s.Wo))
        or (verdict == MODEL_REQUESTS and withinShare(capR, s.Qk, 1, s.Wo)))
    return refuse(s, verdict, owed, nil)
  end

  local reserved = est
  if capT ~= -1 then reserved = math.min(reserved, capT - s.Um) end
  if kT ~= -1 then reserved = math.min(reserved, kT - s.Uk) end
  if reserved < 0 then reserved = 0 end
  return admit(s, reserved)
end
