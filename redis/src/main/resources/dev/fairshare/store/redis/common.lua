-- FairShare: the allocation rule of dev.fairshare.core.ModelWindow, mirrored for Redis.
-- Keep the two in step: UsageStoreContract runs the same timelines against both.
--
-- KEYS (all hash-tagged by model): 1 model tokens per bucket, 2 model requests per bucket,
-- 3 active weight per bucket (latest admission of each key), 4 active key count per bucket,
-- 5 key tokens per bucket, 6 key requests per bucket, 7 key meta {last, w}, 8 key in-flight zset,
-- 9 starved rejections per bucket (keys turned away while within their share), 10 the model's
-- running totals over the window {T, R, AW, AC, lo}: buckets below lo have been subtracted and
-- deleted, so a call costs O(buckets that expired since the last call), not O(window).
-- With the token-bucket pool (pool.lua): 11 the bucket {level, at, seq, dlo, and the cached share
-- level lamB, lamC, lam}, 12 the tickets (key id -> "seq tokens guaranteed rank expiresAt"), 13 each
-- key's demand per bucket ("d|bucket|id" -> tokens counted plus refused).
-- 14 the model's keys (id -> "last w": the bucket of each key's latest activity and its weight),
-- 15 the key's calls refused by the model per bucket. The key meta (7) also holds res and n: the
-- tokens and the calls of the key in flight (what GET /usage shows).
-- Hash fields are bucket numbers (time / bucket length); fields older than the window are pruned.
-- Verdict codes, by name: dev.fairshare.store.redis.RedisProtocol.VERDICTS (RedisProtocolTest keeps
-- the two equal). Arguments are read into named locals; RedisProtocol names their positions.
local ADMITTED, KEY_PARALLEL_LIMIT, KEY_REQUEST_LIMIT, KEY_TOKEN_LIMIT, MODEL_TOKENS, SHARE_TOKENS, MODEL_REQUESTS, SHARE_REQUESTS = 0, 1, 2, 3, 4, 5, 6, 7

local now = tonumber(ARGV[1])
local bm = tonumber(ARGV[2])
local N = tonumber(ARGV[3])
local mode = tonumber(ARGV[4])          -- 0 fair, 1 litellm-v1
local theta = tonumber(ARGV[5])
local capT = tonumber(ARGV[6])          -- -1: unlimited
local capR = tonumber(ARGV[7])
local w = tonumber(ARGV[8])
local kT = tonumber(ARGV[9])
local kR = tonumber(ARGV[10])
local kP = tonumber(ARGV[11])
local ttl = tonumber(ARGV[12])
-- The token-bucket pool (pool.lua): 13 '1' when in use, 14 its burst and 15 its reserve as
-- fractions, 16 the longest wait a ticket is kept for, 17 the key's id (the tickets' and the
-- demand table's field names).
local usePool = ARGV[13] == '1' and mode == 0
local poolBurst = tonumber(ARGV[14])
local poolReserve = tonumber(ARGV[15])
local ticketMaxWait = tonumber(ARGV[16])
local keyId = ARGV[17]

local EPS = 1e-9
local b = math.floor(now / bm)
local start
if mode == 1 then
  start = math.floor(math.floor(now / 60000) * 60000 / bm)
else
  start = b - N + 1
end
local minuteEnd = (math.floor(now / 60000) + 1) * 60000

local function load(key, since)
  since = since or start
  local flat = redis.call('HGETALL', key)
  local t = {}
  local stale = {}
  for i = 1, #flat, 2 do
    local bucket = tonumber(flat[i])
    if bucket < since then
      stale[#stale + 1] = flat[i]
    else
      t[bucket] = tonumber(flat[i + 1])
    end
  end
  if #stale > 0 then
    redis.call('HDEL', key, unpack(stale))
  end
  return t
end

local function sum(t)
  local s = 0
  for _, v in pairs(t) do s = s + v end
  return s
end

local function lastPositive(t)
  local last = nil
  for bucket, v in pairs(t) do
    if v > 0 and (last == nil or bucket > last) then last = bucket end
  end
  return last
end

local function v1Count(Co, act)
  return math.max(1, Co + (act and 1 or 0))
end

-- A request of `cost` units ends inside the key's share (its last unit starts in it).
local function withinShare(cap, kused, cost, Wo)
  return cap * w / (Wo + w) - (kused + cost - 1) > EPS
end

-- What a request asks: its estimate, at most the key's whole share (fair) or the capacity.
local function cost(cap, est, Wo)
  local limit = cap
  if mode == 0 then limit = math.max(1, math.floor(cap * w / (Wo + w) + EPS)) end
  return math.max(1, math.min(est, limit))
end

-- Fair: the cost fits in the model's room. LiteLLM v1: any room at all.
local function modelFits(cap, used, c)
  if mode == 1 then return cap - used > 0 end
  return cap - used >= c
end

local function mayTake(cap, used, kused, c, Wo, Co, act, starved)
  if mode == 1 then
    return math.floor((cap - used) * w / v1Count(Co, act)) > 0
  end
  if withinShare(cap, kused, c, Wo) then return true end
  return (not starved) and used + c <= theta * cap
end

-- The verdict for a request asking est tokens (its estimate); with the token-bucket pool, the
-- window answers for the requests only (the pool tells its own waits).
local function evaluate(Um, Qm, Uk, Qk, Wo, Co, act, inflight, est, starved)
  if kP ~= -1 and inflight >= kP then return KEY_PARALLEL_LIMIT end
  if kR ~= -1 and Qk >= kR then return KEY_REQUEST_LIMIT end
  if kT ~= -1 and Uk >= kT then return KEY_TOKEN_LIMIT end
  if capT ~= -1 and not usePool then
    local c = cost(capT, est, Wo)
    if not modelFits(capT, Um, c) then return MODEL_TOKENS end
    if not mayTake(capT, Um, Uk, c, Wo, Co, act, starved) then return SHARE_TOKENS end
  end
  if capR ~= -1 then
    if not modelFits(capR, Qm, 1) then return MODEL_REQUESTS end
    if not mayTake(capR, Qm, Qk, 1, Wo, Co, act, starved) then return SHARE_REQUESTS end
  end
  return ADMITTED
end

local function allowance(cap, klim, used, kused, Wo, Co, act, lastb, out)
  local modelRemaining = -1
  if cap ~= -1 then modelRemaining = math.max(0, cap - used) end
  local share, remaining = -1, -1
  if cap ~= -1 then
    if mode == 1 then
      local n = v1Count(Co, act)
      share = math.floor(cap * w / n)
      remaining = math.max(0, math.floor((cap - used) * w / n))
    else
      share = math.floor(cap * w / (Wo + w) + EPS)
      remaining = math.max(0, share - kused)
    end
  end
  if klim ~= -1 then
    local keyRemaining = math.max(0, klim - kused)
    if share == -1 then share = klim else share = math.min(share, klim) end
    if remaining == -1 then remaining = keyRemaining else remaining = math.min(remaining, keyRemaining) end
  end
  local reset = 0
  if lastb ~= nil then
    if mode == 1 then reset = minuteEnd - now else reset = math.max(0, (lastb + N) * bm - now) end
  end
  for _, v in ipairs({share, remaining, kused, reset, cap, modelRemaining, used}) do
    out[#out + 1] = v
  end
end

local function snapshot(s, out)
  allowance(capT, kT, s.Um, s.Uk, s.Wo, s.Co, s.act, lastPositive(s.kt), out)
  allowance(capR, kR, s.Qm, s.Qk, s.Wo, s.Co, s.act, lastPositive(s.kr), out)
end

local function activeCount(s)
  if mode == 1 then return v1Count(s.Co, s.act) end
  return s.Co + 1
end

-- The model's totals over the window, after subtracting the buckets that left it.
local function modelTotals()
  local tot = redis.call('HMGET', KEYS[10], 'T', 'R', 'AW', 'AC', 'lo')
  local lo = tonumber(tot[5])
  local T, R, AW, AC
  if lo == nil or start - lo > N or lo > b then
    -- First use, idle for a whole window, or the clock went back: sum the buckets.
    T, R, AW, AC = sum(load(KEYS[1])), sum(load(KEYS[2])), sum(load(KEYS[3])), sum(load(KEYS[4]))
  else
    T, R, AW, AC = tonumber(tot[1]), tonumber(tot[2]), tonumber(tot[3]), tonumber(tot[4])
    for x = lo, start - 1 do
      T = T - (tonumber(redis.call('HGET', KEYS[1], x)) or 0)
      R = R - (tonumber(redis.call('HGET', KEYS[2], x)) or 0)
      AW = AW - (tonumber(redis.call('HGET', KEYS[3], x)) or 0)
      AC = AC - (tonumber(redis.call('HGET', KEYS[4], x)) or 0)
      for i = 1, 4 do redis.call('HDEL', KEYS[i], x) end
    end
  end
  local moved = lo ~= start
  if moved then
    redis.call('HSET', KEYS[10], 'T', T, 'R', R, 'AW', AW, 'AC', AC, 'lo', start)
  end
  return T, R, AW, AC, moved
end

-- Adds to one bucket of a model column and to its running total.
local function addModel(column, total, bucket, delta, float)
  if float then
    redis.call('HINCRBYFLOAT', KEYS[column], bucket, delta)
    redis.call('HINCRBYFLOAT', KEYS[10], total, delta)
  else
    redis.call('HINCRBY', KEYS[column], bucket, delta)
    redis.call('HINCRBY', KEYS[10], total, delta)
  end
end

-- The model's record of the key's activity: who is active (GET /usage) and, for the pool's share
-- level, with what weight.
local function activity()
  redis.call('HSET', KEYS[14], keyId, b .. ' ' .. string.format('%.17g', w))
  redis.call('PEXPIRE', KEYS[14], ttl)
end

-- The key becomes active in bucket b: its previous bucket (if still in the window) stops
-- counting it, so each active key is counted once, in the bucket of its latest activity.
local function markActive(s)
  if s.last == b then
    -- Already counted in this bucket: only a changed weight needs writing.
    if s.kw ~= w then
      addModel(3, 'AW', b, w - s.kw, true)
      redis.call('HSET', KEYS[7], 'w', w)
      activity()
    end
    return
  end
  -- Still counted in an earlier bucket of the window: it moves, and the model's totals change
  -- only by a changed weight; otherwise it is new to the window and adds to them.
  local counted = s.last ~= nil and redis.call('HEXISTS', KEYS[3], s.last) == 1
  if counted then
    redis.call('HINCRBYFLOAT', KEYS[3], s.last, -s.kw)
    redis.call('HINCRBY', KEYS[4], s.last, -1)
  else
    redis.call('HINCRBY', KEYS[10], 'AC', 1)
  end
  redis.call('HINCRBYFLOAT', KEYS[3], b, w)
  redis.call('HINCRBY', KEYS[4], b, 1)
  local dw = counted and (w - s.kw) or w
  if dw ~= 0 then redis.call('HINCRBYFLOAT', KEYS[10], 'AW', dw) end
  redis.call('HSET', KEYS[7], 'last', b, 'w', w)
  activity()
end

local function state()
  local s = {}
  local W, C
  s.Um, s.Qm, W, C, s.moved = modelTotals()
  s.kt = load(KEYS[5]); s.kr = load(KEYS[6])
  s.Uk = sum(s.kt); s.Qk = sum(s.kr)
  if math.abs(W) < EPS then W = 0 end
  local meta = redis.call('HMGET', KEYS[7], 'last', 'w')
  s.last = tonumber(meta[1])
  s.kw = tonumber(meta[2]) or 0
  s.act = s.last ~= nil and s.last >= start
  if s.act then W = W - s.kw; C = C - 1 end
  if W < 0 then W = 0 end
  s.Wo = W
  s.Co = C
  -- Requests in flight are tracked only for keys with a parallel limit (kP), the only reader: a
  -- limit set on a key while calls are in flight does not count those calls.
  s.inflight = 0
  if kP ~= -1 then
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
    s.inflight = redis.call('ZCARD', KEYS[8])
  end
  s.starved = false
  if mode == 0 then
    s.starved = sum(load(KEYS[9])) > 0
  end
  return s
end

-- TTLs are refreshed once per bucket, not per call: the model's keys when its window moved,
-- a key's when its first admission in a bucket wrote them. Call after the writes.
local function touchModel()
  for _, i in ipairs({1, 2, 3, 4, 9, 10}) do redis.call('PEXPIRE', KEYS[i], ttl) end
end

local function touchKey()
  for i = 5, 7 do redis.call('PEXPIRE', KEYS[i], ttl) end
  if kP ~= -1 then redis.call('PEXPIRE', KEYS[8], ttl) end
end
