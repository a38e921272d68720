-- FairShare: the token-bucket pool of dev.fairshare.core.TokenPool and the share level of
-- dev.fairshare.core.ModelWindow (decideFromPool, shareLevel), mirrored for Redis; used only when
-- usePool. Same arithmetic in the same order as the Java side, so both decide alike to the bit:
-- numbers written back are formatted with 17 significant digits (Lua's default keeps 14).
-- KEYS 4 (bucket), 5 (tickets), 6 (demand) and 7 (the model's keys): see common.lua.
local GUARANTEED, WITHIN_SHARE, BORROWING = 0, 1, 2
local TICKET_GRACE = 1000 -- TokenPool.TICKET_GRACE_MILLIS

-- The bucket's size and the part of it kept for keys within their guaranteed share.
local function poolShape()
  local burst = math.max(1, math.ceil(capT * poolBurst))
  return burst, math.floor(burst * poolReserve)
end

-- Milliseconds the bucket needs to gain `tokens`; a window when it never refills.
local function millisFor(tokens)
  if tokens <= 0 then return 0 end
  if capT == 0 then return winMs end
  return math.ceil(tokens * winMs / capT)
end

-- The bucket, refilled up to now: {level, at}. A new (or expired) bucket starts full.
local function poolNow(burst)
  local v = redis.call('HMGET', KEYS[4], 'level', 'at')
  local p = {level = tonumber(v[1]), at = tonumber(v[2])}
  if p.at == nil or p.level == nil then
    p.level = burst
    p.at = now
  elseif now > p.at then
    local gained = capT * (now - p.at) / winMs
    -- Never refilled past the burst; a level above it (the capacity was lowered) only falls.
    if p.level < burst then p.level = math.min(burst, p.level + gained) end
    p.at = now
  end
  return p
end

local function poolSave(p)
  redis.call('HSET', KEYS[4], 'level', exact(p.level), 'at', p.at)
  redis.call('PEXPIRE', KEYS[4], ttl)
end

-- Gives back a refund or a release, never past the burst.
local function poolGiveBack(tokens)
  local burst = poolShape()
  local p = poolNow(burst)
  p.level = math.min(burst, p.level + tokens)
  poolSave(p)
end

-- Takes use above a reservation (debt), never below -C.
local function poolCharge(tokens)
  local p = poolNow(poolShape())
  p.level = math.max(-capT, p.level - tokens)
  poolSave(p)
end

-- Byte order, as Java's String.compareTo orders ASCII ids (Lua's < follows the server's locale).
local function bytesBefore(x, y)
  local n = math.min(#x, #y)
  for i = 1, n do
    local cx, cy = string.byte(x, i), string.byte(y, i)
    if cx ~= cy then return cx < cy end
  end
  return #x < #y
end

local function deleteFields(key, fields)
  for i = 1, #fields, 1000 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 999, #fields)))
  end
end

-- The keys active in the window (KEYS[7]), each with its weight; the others' entries are deleted.
local function activeKeys()
  local flat = redis.call('HGETALL', KEYS[7])
  local weight, stale = {}, {}
  for i = 1, #flat, 2 do
    local last, kw = string.match(flat[i + 1], '^(%S+) (%S+)$')
    if tonumber(last) < start then
      stale[#stale + 1] = flat[i]
    else
      weight[flat[i]] = kw
    end
  end
  deleteFields(KEYS[7], stale)
  return weight
end

-- The demand table, without what left the window: per key id, {demand, weight} of the keys
-- active in it.
local function demandTable()
  local flat = redis.call('HGETALL', KEYS[6])
  local demand, stale = {}, {}
  for i = 1, #flat, 2 do
    local f = flat[i]
    local bk, id = string.match(f, '^d|(%-?%d+)|(.*)$')
    if tonumber(bk) < start then
      stale[#stale + 1] = f
    else
      demand[id] = (demand[id] or 0) + tonumber(flat[i + 1])
    end
  end
  deleteFields(KEYS[6], stale)
  local weight = {}
  for id, kw in pairs(activeKeys()) do weight[id] = tonumber(kw) end
  redis.call('HSET', KEYS[4], 'dlo', start)
  return demand, weight
end

-- Drops what left the window from the demand table, once per bucket whichever script comes
-- first (the table holds a field per active key per bucket, and its TTL is refreshed by use).
local function pruneDemandIfDue()
  local lo = tonumber(redis.call('HGET', KEYS[4], 'dlo'))
  if lo == nil or lo < start then
    demandTable()
    redis.call('PEXPIRE', KEYS[4], ttl)
  end
end

-- The water level of the weighted max-min split of the capacity between the active keys'
-- demands (ModelWindow.shareLevel): math.huge when they all fit. Computed once per bucket.
local function shareLevel()
  local cache = redis.call('HMGET', KEYS[4], 'lamB', 'lamC', 'lam')
  -- A level computed for a later bucket stands (this caller's clock lags another instance's).
  local cachedB = tonumber(cache[1])
  if cachedB ~= nil and cachedB >= b and tonumber(cache[2]) == capT then
    local lam = tonumber(cache[3])
    if lam < 0 then return math.huge end
    return lam
  end
  local demand, weight = demandTable()
  local ks = {}
  for id, kw in pairs(weight) do
    if kw > 0 then
      local d = demand[id] or 0
      ks[#ks + 1] = {id = id, d = d, w = kw, ratio = d / kw}
    end
  end
  table.sort(ks, function(x, y)
    if x.ratio ~= y.ratio then return x.ratio < y.ratio end
    return bytesBefore(x.id, y.id)
  end)
  local left = capT
  local weightLeft = 0
  for i = 1, #ks do weightLeft = weightLeft + ks[i].w end
  local level = math.huge
  for i = 1, #ks do
    local k = ks[i]
    if k.d > left / weightLeft * k.w then
      level = left / weightLeft
      break
    end
    left = left - k.d
    weightLeft = weightLeft - k.w
  end
  local stored = -1
  if level ~= math.huge then stored = exact(level) end
  redis.call('HSET', KEYS[4], 'lamB', b, 'lamC', capT, 'lam', stored)
  return level
end

-- Adds `tokens` to the key's demand in `bucket` (only where the bucket is still counted, for a
-- refund: `existing`).
local function addDemand(bucket, tokens, existing)
  local field = 'd|' .. bucket .. '|' .. keyId
  if existing and redis.call('HEXISTS', KEYS[6], field) == 0 then return end
  redis.call('HINCRBY', KEYS[6], field, tokens)
  redis.call('PEXPIRE', KEYS[6], ttl)
end

-- The tickets still valid, oldest first; expired ones are deleted.
local function liveTickets(t)
  local flat = redis.call('HGETALL', KEYS[5])
  local list, expired = {}, {}
  for i = 1, #flat, 2 do
    local seq, tokens, g, rank, expires =
      string.match(flat[i + 1], '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
    expires = tonumber(expires)
    if expires <= t then
      expired[#expired + 1] = flat[i]
    else
      list[#list + 1] = {id = flat[i], seq = tonumber(seq), tokens = tonumber(tokens),
        g = g == '1', rank = tonumber(rank), expires = expires}
    end
  end
  deleteFields(KEYS[5], expired)
  table.sort(list, function(x, y) return x.seq < y.seq end)
  return list
end

-- Tokens owed to the tickets served before this key's (TokenPool.ticketsAhead).
local function ticketsAhead(list, standing, rank)
  local ahead, before = 0, true
  local mine = nil
  for _, t in ipairs(list) do
    if t.id == keyId then
      before = false
      mine = t
    else
      local counts
      if standing == GUARANTEED then
        counts = before and t.g
      elseif standing == WITHIN_SHARE then
        counts = t.g or t.rank < rank or (t.rank == rank and before)
      else
        counts = true
      end
      if counts then ahead = ahead + t.tokens end
    end
  end
  return ahead, mine
end

-- TokenPool.judge: whether the bucket holds `c` tokens for this key now; a key within a share
-- that is refused takes (or keeps, in its place) a ticket. Returns admitted, room, retry-after,
-- the bucket (to take from) and this key's ticket.
local function poolJudge(c, standing, rank)
  local burst, reserve = poolShape()
  local p = poolNow(burst)
  -- Tickets live on the pool's own time (p.at), which never goes back: instances whose clocks
  -- differ neither drop a ticket early nor keep a used one.
  local list = liveTickets(p.at)
  local need = math.min(c, burst)
  local kept = 0
  if standing ~= GUARANTEED then kept = math.min(reserve, math.max(0, burst - need)) end
  local ahead, mine = ticketsAhead(list, standing, rank)
  local wanted = ahead + kept + need
  if standing ~= GUARANTEED then wanted = math.min(burst, wanted) end
  local missing = wanted - p.level
  if missing <= 0 then
    local room = math.floor(p.level - (wanted - need))
    return true, math.max(need, room), 0, p, mine
  end
  local retry = millisFor(missing)
  if standing ~= BORROWING then
    if retry <= ticketMaxWait then
      local seq
      if mine ~= nil then seq = mine.seq else seq = redis.call('HINCRBY', KEYS[4], 'seq', 1) end
      local g = 0
      if standing == GUARANTEED then g = 1 end
      redis.call('HSET', KEYS[5], keyId,
        seq .. ' ' .. need .. ' ' .. g .. ' ' .. exact(rank) .. ' ' .. (p.at + retry + TICKET_GRACE))
      redis.call('PEXPIRE', KEYS[5], ttl)
    elseif mine ~= nil then
      redis.call('HDEL', KEYS[5], keyId)
    end
  end
  poolSave(p)
  return false, 0, retry, p, mine
end

-- TokenPool.take: the key's ticket is used up unless a call of the key was told a later time.
local function poolTake(p, mine, tokens)
  if mine ~= nil and p.at >= mine.expires - TICKET_GRACE then
    redis.call('HDEL', KEYS[5], keyId)
  end
  p.level = p.level - tokens
  poolSave(p)
end
