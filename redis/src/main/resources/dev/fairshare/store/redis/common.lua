-- FairShare: the allocation rule of dev.fairshare.core.ModelWindow, mirrored for Redis.
-- Keep the two in step: UsageStoreContract runs the same timelines against both.
--
-- KEYS (all hash-tagged by model): 1 the model's hash, 2 the key's hash (both described above
-- open() below), 3 the key's in-flight zset. With the token-bucket pool (pool.lua): 4 the bucket
-- {level, at, seq, dlo, and the cached share level lamB, lamC, lam}, 5 the tickets (key id ->
-- "seq tokens guaranteed rank expiresAt"), 6 each key's demand per bucket ("d|bucket|id" -> tokens
-- counted plus refused). 7 the model's keys (id -> "last w": the bucket of each key's latest
-- activity and its weight). 8 the key's calls refused by the model, per bucket. Buckets are numbered time / bucket length; what is older than the
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

local function sum(t)
  local s = 0
  for _, v in pairs(t) do s = s + v end
  return s
end

-- Numbers written as text: 17 significant digits (Lua's default keeps 14), integers plainly.
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
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4] = share, remaining, kused, reset
  out[n + 5], out[n + 6], out[n + 7] = cap, modelRemaining, used
end


local function activeCount(s)
  if mode == 1 then return v1Count(s.Co, s.act) end
  return s.Co + 1
end


-- The model's hash (KEYS[1]) and the key's (KEYS[2]) hold their numbers packed as doubles
-- (struct.pack: exact, and one field where text would need one per number), in a field 'v' for
-- running totals and a field per bucket (its number) for that bucket's row. A call reads the
-- fields it needs in one HMGET per hash, changes them in s, and writes back what changed in one
-- HSET per hash (flush): an admission is four redis.calls when its key and model are warm.
-- The model: v = T (tokens), R (requests), AW (active weight), AC (active keys), S (calls turned
-- away while within their share) over the window, and lo (buckets below lo have been subtracted
-- and deleted, so a call costs O(buckets that left the window since the last call), not
-- O(window)); a bucket x = its tokens, requests, the weight and count of the keys whose latest
-- activity is in x, its calls turned away within their share.
-- The key: v = U (tokens), Q (requests) over the window and lo, kept the same way; lt and lr, the
-- latest buckets with tokens and requests above zero (-1: none); last and w, the bucket of its
-- latest activity and its weight; res and n, its tokens and calls in flight (GET /usage); a bucket
-- x = its tokens and requests. Its calls refused by the model, per bucket, are a hash of their own
-- (KEYS[8], read by GET /usage only), so that a refusal's replay of the key's buckets reads only
-- buckets that hold usage. A row that falls to all zeros is deleted rather than written.
local MODEL_V, MODEL_ROW = '<dddddd', '<ddddd'
local KEY_V, KEY_ROW = '<ddddddddd', '<dd'
local T, R, AW, AC, S = 1, 2, 3, 4, 5 -- the model's columns (row) and totals (v)
local U, Q = 1, 2 -- the key's columns (row) and totals (v)
local MODEL_WIDTH, KEY_WIDTH = 5, 2

-- Packed numbers (a row, or a hash's v) as a table; false when absent.
local function unpackRow(fmt, packed)
  if not packed then return false end
  local row = {struct.unpack(fmt, packed)}
  row[#row] = nil -- struct.unpack also returns the position after the data
  return row
end

-- The model's and keys' hashes as this script has read and changed them: the calls of a batch
-- share what the calls before them read and wrote, and the batch writes each hash once, at its
-- end (writeBack). Redis runs a script alone: no one sees a hash between two calls of a batch.
-- An entry: v (unpacked, nil when absent), rows (bucket -> row, false when absent), dirty (rows
-- to write), vdirty, touch (refresh the TTL), and the hash's formats.
local cache = {}

-- The entry of `key`, with the rows of `buckets` read (from Redis where not cached yet).
local function read(key, buckets, vfmt, rowfmt)
  local e = cache[key]
  local missing = {}
  if e == nil then
    e = {rows = {}, dirty = {}, gone = {}, vfmt = vfmt, rowfmt = rowfmt}
    cache[key] = e
    local got = redis.call('HMGET', key, 'v', unpack(buckets))
    for i = 1, #buckets do e.rows[buckets[i]] = unpackRow(rowfmt, got[i + 1]) end
    e.v = unpackRow(vfmt, got[1]) or nil
    return e
  end
  local rows = e.rows
  for i = 1, #buckets do
    if rows[buckets[i]] == nil then missing[#missing + 1] = buckets[i] end
  end
  if #missing > 0 then
    local got = redis.call('HMGET', key, unpack(missing))
    for i = 1, #missing do e.rows[missing[i]] = unpackRow(rowfmt, got[i]) end
  end
  return e
end

-- Drops rows of a hash (buckets that left the window): gone from its entry now, deleted in Redis
-- by writeBack with the totals that no longer count them (a batch that fails changes neither).
local function dropRows(e, buckets)
  for _, x in ipairs(buckets) do
    e.rows[x] = false
    e.dirty[x] = nil
    e.gone[x] = true
  end
end

-- Calls `each(bucket, packed row or row table)` for every bucket row of `key` in the window,
-- changes of this script included; older rows are deleted.
local function eachRow(key, e, each)
  local flat = redis.call('HGETALL', key)
  local stale = {}
  for i = 1, #flat, 2 do
    local x = tonumber(flat[i])
    if x ~= nil then
      if x < start then
        stale[#stale + 1] = x
      elseif e.rows[x] == nil then
        each(x, flat[i + 1])
      end
    end
  end
  if #stale > 0 then dropRows(e, stale) end
  for x, r in pairs(e.rows) do
    if r and x >= start then each(x, r) end
  end
end

-- Every bucket row of `key` in the window (read into its entry).
local function allRows(key, e)
  local rows = {}
  eachRow(key, e, function(x, r)
    if type(r) == 'string' then
      r = unpackRow(e.rowfmt, r)
      e.rows[x] = r
    end
    rows[x] = r
  end)
  return rows
end

-- The bucket rows of `key` in the window as columns: {column = {bucket = number}}, without a table
-- per row read (a refusal's replay reads every bucket).
local function allColumns(key, e, width)
  local cols = {}
  for col = 1, width do cols[col] = {} end
  local c1, c2, c3, c4, c5 = cols[1], cols[2], cols[3], cols[4], cols[5]
  eachRow(key, e, function(x, r)
    if type(r) == 'table' then
      for col = 1, width do cols[col][x] = r[col] end
    elseif width == 5 then
      c1[x], c2[x], c3[x], c4[x], c5[x] = struct.unpack(e.rowfmt, r)
    else
      c1[x], c2[x] = struct.unpack(e.rowfmt, r)
    end
  end)
  return cols
end

-- One column of rows, by bucket.
local function column(rows, col)
  local c = {}
  for x, row in pairs(rows) do if row then c[x] = row[col] end end
  return c
end

local function lastPositive(rows, col)
  local last = -1
  for x, row in pairs(rows) do
    if row and row[col] > 0 and x > last then last = x end
  end
  return last
end

-- Brings a hash's totals (the first `totalled` numbers of its v) to the window: subtracts the
-- buckets that left it since lo and deletes them; or, without totals, when they are a whole
-- window old or ahead of the clock (it went back), sums the buckets afresh. Returns the totals,
-- whether lo moved, and the rows when summed afresh.
local function advance(key, e, lo, totalled)
  local totals = {}
  if lo == nil or start - lo > N or lo > b then
    local rows = allRows(key, e)
    for col = 1, totalled do totals[col] = sum(column(rows, col)) end
    return totals, true, rows
  end
  for col = 1, totalled do totals[col] = e.v[col] end
  if lo < start then
    local gone = {}
    for x = lo, start - 1 do gone[#gone + 1] = x end
    read(key, gone, e.vfmt, e.rowfmt)
    for _, x in ipairs(gone) do
      local r = e.rows[x]
      if r then
        for col = 1, totalled do totals[col] = totals[col] - r[col] end
      end
    end
    dropRows(e, gone)
  end
  return totals, lo ~= start, nil
end

-- The model's and the key's state for this call, brought to the window. `extra`: buckets whose
-- rows the caller needs besides the current one (a settlement's reservation).
local function open(extra)
  local s = {mdirty = {}, kdirty = {}}
  local kb = {b}
  for _, x in ipairs(extra) do kb[#kb + 1] = x end
  -- The key first: the bucket of its latest activity is a row of the model's to read.
  local ke = read(KEYS[2], kb, KEY_V, KEY_ROW)
  local kv = ke.v or {}
  local mb = {b}
  for _, x in ipairs(extra) do mb[#mb + 1] = x end
  local last = kv[6]
  if last ~= nil and last >= start and last ~= b then mb[#mb + 1] = last end
  local me = read(KEYS[1], mb, MODEL_V, MODEL_ROW)
  s.me, s.ke, s.mrows, s.krows = me, ke, me.rows, ke.rows
  local moved, rows
  s.mtotals, moved = advance(KEYS[1], me, (me.v or {})[6], MODEL_WIDTH)
  s.mv = moved
  s.ktotals, s.kv, rows = advance(KEYS[2], ke, kv[3], KEY_WIDTH)
  if rows ~= nil then
    -- Summed afresh: its latest buckets above zero follow its rows.
    s.lt, s.lr = lastPositive(rows, U), lastPositive(rows, Q)
  else
    s.lt, s.lr = kv[4], kv[5]
  end
  s.last, s.kw, s.res, s.n = kv[6], kv[7], kv[8] or 0, kv[9] or 0
  if s.last == -1 then s.last = nil end
  -- TTLs are refreshed once per bucket, not per call: when a hash's window moved (a new hash
  -- always does), and when debt is written (a call may outlive its hashes).
  s.mtouch, s.ktouch = s.mv, s.kv
  return s
end

-- A row read by open (or lastAbove), created empty if absent. A row not read is a bug, not a zero.
local function row(rows, x, width)
  local r = rows[x]
  if r == nil then error('FairShare: bucket ' .. x .. ' used without being read') end
  if r == false then
    r = {}
    for i = 1, width do r[i] = 0 end
    rows[x] = r
  end
  return r
end

-- Whether bucket x has a row (it was written since it entered the window).
local function hasRow(rows, x)
  local r = rows[x]
  if r == nil then error('FairShare: bucket ' .. x .. ' used without being read') end
  return r ~= false
end

-- Adds to one bucket of a model column and to its running total.
local function madd(s, col, x, delta)
  local r = row(s.mrows, x, MODEL_WIDTH)
  r[col] = r[col] + delta
  s.mtotals[col] = s.mtotals[col] + delta
  s.mdirty[x] = true
  s.mv = true
end

-- The latest bucket of the key with column `col` above zero, from `before` down to the window's
-- start (-1: none), reading the rows this call has not.
local function lastAbove(s, col, before)
  local buckets = {}
  for x = before, start, -1 do buckets[#buckets + 1] = x end
  if #buckets > 0 then read(KEYS[2], buckets, KEY_V, KEY_ROW) end
  for x = before, start, -1 do
    local r = s.krows[x]
    if r and r[col] > 0 then return x end
  end
  return -1
end

-- Adds to one bucket of the key's tokens (U) or requests (Q), to its total and to its latest bucket
-- above zero.
local function kadd(s, col, x, delta)
  local r = row(s.krows, x, KEY_WIDTH)
  r[col] = r[col] + delta
  s.kdirty[x] = true
  s.kv = true
  s.ktotals[col] = s.ktotals[col] + delta
  local last = (col == U) and s.lt or s.lr
  if last == nil then last = -1 end
  if r[col] > 0 and x > last then
    last = x
  elseif r[col] <= 0 and x == last then
    last = lastAbove(s, col, x - 1)
  end
  if col == U then s.lt = last else s.lr = last end
end

local function allZero(r)
  for i = 1, #r do
    if r[i] ~= 0 then return false end
  end
  return true
end

-- Writes `v` and the dirty rows of one hash: one HSET, and one HDEL for the rows dropped or fallen
-- to all zeros.
local function write(key, e)
  local kv, gone = {}, {}
  if e.v then kv = {'v', struct.pack(e.vfmt, unpack(e.v))} end
  for x in pairs(e.gone) do
    -- (unless written again since: a call of the batch whose clock is a bucket behind)
    if not e.rows[x] then gone[#gone + 1] = x end
  end
  for x in pairs(e.dirty) do
    local r = e.rows[x]
    if allZero(r) then
      gone[#gone + 1] = x
      e.rows[x] = false
    else
      kv[#kv + 1] = x
      kv[#kv + 1] = struct.pack(e.rowfmt, unpack(r))
    end
  end
  if #kv > 0 then redis.call('HSET', key, unpack(kv)) end
  for i = 1, #gone, 1000 do
    redis.call('HDEL', key, unpack(gone, i, math.min(i + 999, #gone)))
  end
end

-- Records what the call changed in the script's entries (writeBack writes them).
local function flush(s)
  local me, ke = s.me, s.ke
  if s.mv or next(s.mdirty) then
    local t = s.mtotals
    me.v = {t[T], t[R], t[AW], t[AC], t[S], start}
    me.vdirty = true
    for x in pairs(s.mdirty) do me.dirty[x] = true end
  end
  if s.mtouch then me.touch = true end
  if s.kv or next(s.kdirty) then
    local t = s.ktotals
    ke.v = {t[U], t[Q], start, s.lt or -1, s.lr or -1, s.last or -1, s.kw or 0, s.res, s.n}
    ke.vdirty = true
    for x in pairs(s.kdirty) do ke.dirty[x] = true end
  end
  if s.ktouch then ke.touch = true end
  s.mdirty, s.kdirty, s.mv, s.kv = {}, {}, false, false
end

-- Writes every hash the script changed, once; refreshes the TTLs due.
local function writeBack()
  for key, e in pairs(cache) do
    if e.vdirty or next(e.dirty) or next(e.gone) then write(key, e) end
    if e.touch then redis.call('PEXPIRE', key, ttl) end
  end
  cache = {}
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
      madd(s, AW, b, w - s.kw)
      s.kw = w
      s.kv = true
      activity()
    end
    return
  end
  -- Still counted in an earlier bucket of the window: it moves, and the model's totals change
  -- only by a changed weight; otherwise it is new to the window and adds to them.
  local counted = s.last ~= nil and s.last >= start and hasRow(s.mrows, s.last)
  if counted then
    madd(s, AW, s.last, -s.kw)
    madd(s, AC, s.last, -1)
  end
  madd(s, AW, b, w)
  madd(s, AC, b, 1)
  s.last, s.kw, s.kv = b, w, true
  activity()
end

-- The latest bucket in the window, or nil.
local function inWindow(x)
  if x ~= nil and x >= start then return x end
  return nil
end

local function snapshot(s, out)
  allowance(capT, kT, s.Um, s.Uk, s.Wo, s.Co, s.act, inWindow(s.lt), out)
  allowance(capR, kR, s.Qm, s.Qk, s.Wo, s.Co, s.act, inWindow(s.lr), out)
end

local function state(extra)
  local s = open(extra or {})
  local m, k = s.mtotals, s.ktotals
  s.Um, s.Qm, s.Uk, s.Qk = m[T], m[R], k[U], k[Q]
  local Wm, C = m[AW], m[AC]
  if math.abs(Wm) < EPS then Wm = 0 end
  s.act = s.last ~= nil and s.last >= start
  local kw = s.kw or 0
  s.kw = kw
  if s.act then Wm = Wm - kw; C = C - 1 end
  if Wm < 0 then Wm = 0 end
  s.Wo = Wm
  s.Co = C
  -- Requests in flight are tracked only for keys with a parallel limit (kP), the only reader: a
  -- limit set on a key while calls are in flight does not count those calls.
  s.inflight = 0
  if kP ~= -1 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
    s.inflight = redis.call('ZCARD', KEYS[3])
  end
  s.starved = mode == 0 and m[S] > 0
  return s
end

-- A call's entry among the key's calls in flight (kept only for a key with a parallel limit): its
-- id, the bucket it was reserved in and the tokens reserved, so that a call whose caller never
-- learnt its reservation (it gave up waiting) can still be released by id (settlement.lua).
local function flightMember(id, bucket, tokens)
  return id .. ':' .. string.format('%d', bucket) .. ':' .. string.format('%d', tokens)
end
