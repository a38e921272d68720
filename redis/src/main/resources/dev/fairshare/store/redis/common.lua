-- FairShare: the allocation rule of dev.fairshare.core.ModelWindow, mirrored for Redis.
-- Keep the two in step: UsageStoreContract runs the same timelines against both.
--
-- KEYS (all hash-tagged by model): 1 the model's hash, 2 the key's hash (both described above
-- open() below), 3 the key's in-flight zset. With the token-bucket pool (pool.lua): 4 the bucket
-- {level, at, seq, dlo, and the cached share level lamB, lamC, lam}, 5 the tickets (key id ->
-- "seq tokens guaranteed rank expiresAt"), 6 each key's demand per bucket ("d|bucket|id" -> tokens
-- counted plus refused). 7 the model's keys (id -> "last w": the bucket of each key's latest
-- activity and its weight). Buckets are numbered time / bucket length; what is older than the
-- window is pruned.
-- Verdict codes, by name: dev.fairshare.store.redis.RedisProtocol.VERDICTS (RedisProtocolTest keeps
-- the two equal). Arguments are read into named locals; RedisProtocol names their positions.
-- KEYS and ARGV are a call's own: a batch (batch.lua) binds each of its calls in turn (bind).
local KEYS, ARGV = KEYS, ARGV
local ADMITTED, KEY_PARALLEL_LIMIT, KEY_REQUEST_LIMIT, KEY_TOKEN_LIMIT, MODEL_TOKENS, SHARE_TOKENS, MODEL_REQUESTS, SHARE_REQUESTS = 0, 1, 2, 3, 4, 5, 6, 7

local EPS = 1e-9
-- A call's arguments (ARGV 1-12): now, bucket length, buckets per window, mode (0 fair,
-- 1 litellm-v1), threshold, the model's capacities (-1: unlimited), the key's weight and limits,
-- the TTL. The token-bucket pool (pool.lua): 13 '1' when in use, 14 its burst and 15 its reserve
-- as fractions, 16 the longest wait a ticket is kept for, 17 the key's id (the tickets' and the
-- demand table's field names). Then what follows from them: the bucket, the window's first
-- bucket, the end of the minute, the window's length.
local now, bm, N, mode, theta, capT, capR, w, kT, kR, kP, ttl
local usePool, poolBurst, poolReserve, ticketMaxWait, keyId
local b, start, minuteEnd, winMs

-- Makes `keys` and `argv` the current call's. Every function below reads the call through these.
local function bind(keys, argv)
  KEYS, ARGV = keys, argv
  now = tonumber(ARGV[1])
  bm = tonumber(ARGV[2])
  N = tonumber(ARGV[3])
  mode = tonumber(ARGV[4])
  theta = tonumber(ARGV[5])
  capT = tonumber(ARGV[6])
  capR = tonumber(ARGV[7])
  w = tonumber(ARGV[8])
  kT = tonumber(ARGV[9])
  kR = tonumber(ARGV[10])
  kP = tonumber(ARGV[11])
  ttl = tonumber(ARGV[12])
  usePool = ARGV[13] == '1' and mode == 0
  poolBurst = tonumber(ARGV[14])
  poolReserve = tonumber(ARGV[15])
  ticketMaxWait = tonumber(ARGV[16])
  keyId = ARGV[17]
  b = math.floor(now / bm)
  if mode == 1 then
    start = math.floor(math.floor(now / 60000) * 60000 / bm)
  else
    start = b - N + 1
  end
  minuteEnd = (math.floor(now / 60000) + 1) * 60000
  winMs = N * bm
end

-- The bucket fields of a hash (a column letter and a bucket number: t123, r123 ...) by column:
-- {t = {[123] = value}, ...}; other fields (totals) under `scalars`. Bucket fields older than the
-- window are deleted.
local function columns(key)
  local flat = redis.call('HGETALL', key)
  local cols, stale = {scalars = {}}, {}
  for i = 1, #flat, 2 do
    local f = flat[i]
    local bucket = tonumber(string.sub(f, 2))
    if bucket == nil then
      cols.scalars[f] = flat[i + 1]
    elseif bucket < start then
      stale[#stale + 1] = f
    else
      local col = string.sub(f, 1, 1)
      cols[col] = cols[col] or {}
      cols[col][bucket] = tonumber(flat[i + 1])
    end
  end
  for i = 1, #stale, 1000 do
    redis.call('HDEL', key, unpack(stale, i, math.min(i + 999, #stale)))
  end
  return cols
end

local function sum(t)
  local s = 0
  for _, v in pairs(t or {}) do s = s + v end
  return s
end

local function lastPositive(t)
  local last = nil
  for bucket, v in pairs(t or {}) do
    if v > 0 and (last == nil or bucket > last) then last = bucket end
  end
  return last
end

-- Numbers as written back: 17 significant digits (Lua's default keeps 14), integers plainly.
local function exact(x)
  return string.format('%.17g', x)
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


local function activeCount(s)
  if mode == 1 then return v1Count(s.Co, s.act) end
  return s.Co + 1
end


-- The model's hash (KEYS[1]) and the key's (KEYS[2]) are read once per call, into s.m and s.k
-- (field -> number, false when absent), changed there, and written back once (flush): an
-- admission is four redis.calls when its key and model have been seen in this bucket.
-- The model's hash: its running totals over the window T (tokens), R (requests), AW (active
-- weight), AC (active keys), S (calls turned away while within their share), and lo (buckets below
-- lo have been subtracted and their fields deleted, so a call costs O(buckets that left the window
-- since the last call), not O(window)); per bucket x: t<x>, r<x>, w<x> and c<x> (the weight and
-- count of the keys whose latest activity is in x), s<x>.
-- The key's hash: its totals U (tokens) and Q (requests) and lo, kept the same way; lt and lr, the
-- latest buckets with tokens and requests above zero (-1: none); last and w, the bucket of its
-- latest activity and its weight; res and n, its tokens and calls in flight (GET /usage); per
-- bucket x: t<x>, r<x>, and x<x>, its calls refused by the model.
local MODEL_COLUMNS, MODEL_TOTALS = {'t', 'r', 'w', 'c', 's'}, {'T', 'R', 'AW', 'AC', 'S'}
local KEY_COLUMNS, KEY_TOTALS = {'t', 'r'}, {'U', 'Q'}

-- A field read into `t`: its number, or nil when absent. A field not read is a bug, not a zero.
local function field(t, f)
  local v = t[f]
  if v == nil then error('FairShare: hash field ' .. f .. ' used without being read') end
  return v or nil
end

local function mget(s, f) return field(s.m, f) end
local function kget(s, f) return field(s.k, f) end
local function mset(s, f, v) s.m[f] = v; s.md[f] = true end
local function kset(s, f, v) s.k[f] = v; s.kd[f] = true end

-- Reads `fields` of `key` into `into`.
local function read(key, fields, into)
  local v = redis.call('HMGET', key, unpack(fields))
  for i = 1, #fields do into[fields[i]] = tonumber(v[i]) or false end
end

-- Brings a hash's totals (read into t) to the window: subtracts the buckets that left it since
-- lo, deleting their fields (and those of column `extra`, not totalled); or, when there are no
-- totals, they are a whole window old, or ahead of the clock (it went back), sums the buckets
-- afresh. Marks what changed in `dirty`. Returns whether lo moved, and the buckets if summed.
local function advance(key, t, dirty, cols, totals, extra)
  local lo = t.lo or nil
  local fresh = nil
  if lo == nil or start - lo > N or lo > b then
    fresh = columns(key)
    for i, col in ipairs(cols) do t[totals[i]] = sum(fresh[col]) end
  else
    for _, total in ipairs(totals) do t[total] = t[total] or 0 end
    if lo < start then
      local fields = {}
      for x = lo, start - 1 do
        for _, col in ipairs(cols) do fields[#fields + 1] = col .. x end
      end
      local old = redis.call('HMGET', key, unpack(fields))
      for i = 1, #fields do
        local v = tonumber(old[i])
        if v ~= nil then
          local total = totals[(i - 1) % #cols + 1]
          t[total] = t[total] - v
        end
      end
      if extra then
        for x = lo, start - 1 do fields[#fields + 1] = extra .. x end
      end
      for i = 1, #fields, 1000 do
        redis.call('HDEL', key, unpack(fields, i, math.min(i + 999, #fields)))
      end
    end
  end
  if lo == start then return false, fresh end
  t.lo = start
  dirty.lo = true
  for _, total in ipairs(totals) do dirty[total] = true end
  return true, fresh
end

-- The model's and the key's hashes for this call, brought to the window. `extra`: buckets whose
-- tokens and requests the caller needs besides the current one (a settlement's reservation).
local function open(extra)
  local s = {m = {}, md = {}, k = {}, kd = {}}
  local kf = {'U', 'Q', 'lo', 'lt', 'lr', 'last', 'w', 'res', 'n', 't' .. b, 'r' .. b, 'x' .. b}
  local mf = {'T', 'R', 'AW', 'AC', 'S', 'lo', 't' .. b, 'r' .. b, 'w' .. b, 'c' .. b, 's' .. b}
  for _, x in ipairs(extra) do
    kf[#kf + 1] = 't' .. x; kf[#kf + 1] = 'r' .. x
    mf[#mf + 1] = 't' .. x; mf[#mf + 1] = 'r' .. x
  end
  -- The key first: the bucket of its latest activity names the model's fields it counts in.
  read(KEYS[2], kf, s.k)
  local last = s.k.last or nil
  if last ~= nil and last >= start then
    mf[#mf + 1] = 'w' .. last; mf[#mf + 1] = 'c' .. last
  end
  read(KEYS[1], mf, s.m)
  s.moved = advance(KEYS[1], s.m, s.md, MODEL_COLUMNS, MODEL_TOTALS, nil)
  local kmoved, fresh = advance(KEYS[2], s.k, s.kd, KEY_COLUMNS, KEY_TOTALS, 'x')
  if fresh ~= nil then
    kset(s, 'lt', lastPositive(fresh.t) or -1)
    kset(s, 'lr', lastPositive(fresh.r) or -1)
  end
  -- TTLs are refreshed once per bucket, not per call: when a hash's window moved (a new hash
  -- always does), and when debt is written (a call may outlive its hashes).
  s.mtouch, s.ktouch = s.moved, kmoved
  return s
end

-- Writes back what the call changed: one HSET per hash.
local function flush(s)
  for _, h in ipairs({{KEYS[1], s.m, s.md, s.mtouch}, {KEYS[2], s.k, s.kd, s.ktouch}}) do
    local kv = {}
    for f in pairs(h[3]) do
      kv[#kv + 1] = f
      kv[#kv + 1] = exact(h[2][f])
    end
    if #kv > 0 then redis.call('HSET', h[1], unpack(kv)) end
    if h[4] then redis.call('PEXPIRE', h[1], ttl) end
  end
  s.md, s.kd = {}, {}
end

local MODEL_TOTAL = {t = 'T', r = 'R', w = 'AW', c = 'AC', s = 'S'}

-- Adds to one bucket of a model column and to its running total.
local function madd(s, col, bucket, delta)
  local f = col .. bucket
  mset(s, f, (mget(s, f) or 0) + delta)
  local total = MODEL_TOTAL[col]
  mset(s, total, mget(s, total) + delta)
end

-- The latest bucket of the key with `col` above zero, from `before` down to the window's start
-- (-1: none), reading what this call has not.
local function lastAbove(s, col, before)
  local fields = {}
  for x = before, start, -1 do
    if s.k[col .. x] == nil then fields[#fields + 1] = col .. x end
  end
  if #fields > 0 then read(KEYS[2], fields, s.k) end
  for x = before, start, -1 do
    local v = s.k[col .. x]
    if v and v > 0 then return x end
  end
  return -1
end

-- Adds to one bucket of the key's tokens ('t') or requests ('r'), its total and its latest bucket
-- above zero.
local function kadd(s, col, bucket, delta)
  local f = col .. bucket
  local v = (kget(s, f) or 0) + delta
  kset(s, f, v)
  local total, latest = 'U', 'lt'
  if col == 'r' then total, latest = 'Q', 'lr' end
  kset(s, total, kget(s, total) + delta)
  local last = kget(s, latest) or -1
  if v > 0 and bucket > last then
    kset(s, latest, bucket)
  elseif v <= 0 and bucket == last then
    kset(s, latest, lastAbove(s, col, bucket - 1))
  end
end

-- The model's record of the key's activity: who is active (GET /usage) and, for the pool's share
-- level, with what weight.
local function activity()
  redis.call('HSET', KEYS[7], keyId, b .. ' ' .. exact(w))
  redis.call('PEXPIRE', KEYS[7], ttl)
end

-- The key becomes active in bucket b: its previous bucket (if still in the window) stops
-- counting it, so each active key is counted once, in the bucket of its latest activity.
local function markActive(s)
  if s.last == b then
    -- Already counted in this bucket: only a changed weight needs writing.
    if s.kw ~= w then
      madd(s, 'w', b, w - s.kw)
      kset(s, 'w', w)
      activity()
    end
    return
  end
  -- Still counted in an earlier bucket of the window: it moves, and the model's totals change
  -- only by a changed weight; otherwise it is new to the window and adds to them.
  local counted = s.last ~= nil and s.last >= start and mget(s, 'w' .. s.last) ~= nil
  if counted then
    madd(s, 'w', s.last, -s.kw)
    madd(s, 'c', s.last, -1)
  end
  madd(s, 'w', b, w)
  madd(s, 'c', b, 1)
  kset(s, 'last', b)
  kset(s, 'w', w)
  activity()
end

-- The latest bucket in the window of a key's latest-above-zero field, or nil.
local function lastBucket(s, f)
  local x = kget(s, f)
  if x ~= nil and x >= start then return x end
  return nil
end

local function snapshot(s, out)
  allowance(capT, kT, s.Um, s.Uk, s.Wo, s.Co, s.act, lastBucket(s, 'lt'), out)
  allowance(capR, kR, s.Qm, s.Qk, s.Wo, s.Co, s.act, lastBucket(s, 'lr'), out)
end

local function state(extra)
  local s = open(extra or {})
  s.Um, s.Qm = mget(s, 'T'), mget(s, 'R')
  s.Uk, s.Qk = kget(s, 'U'), kget(s, 'Q')
  local W, C = mget(s, 'AW'), mget(s, 'AC')
  if math.abs(W) < EPS then W = 0 end
  s.last = kget(s, 'last')
  s.kw = kget(s, 'w') or 0
  s.act = s.last ~= nil and s.last >= start
  if s.act then W = W - s.kw; C = C - 1 end
  if W < 0 then W = 0 end
  s.Wo = W
  s.Co = C
  -- Requests in flight are tracked only for keys with a parallel limit (kP), the only reader: a
  -- limit set on a key while calls are in flight does not count those calls.
  s.inflight = 0
  if kP ~= -1 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    s.inflight = redis.call('ZCARD', KEYS[3])
  end
  s.starved = mode == 0 and mget(s, 'S') > 0
  return s
end
