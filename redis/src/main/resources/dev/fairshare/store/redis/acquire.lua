-- ARGV 13: estimate, 14: reservation id, 15: in-flight entry lifetime (ms)
local est = tonumber(ARGV[13])
local rid = ARGV[14]
local flightTtl = tonumber(ARGV[15])

local s = state()
local verdict = evaluate(s.Um, s.Qm, s.Uk, s.Qk, s.Wo, s.Co, s.act, s.inflight, est, s.starved)
if verdict ~= ADMITTED then
  -- Turned away for want of model capacity while within its share: owed capacity, no borrowing.
  if mode == 0 and ((verdict == MODEL_TOKENS and withinShare(capT, s.Uk, cost(capT, est, s.Wo), s.Wo))
      or (verdict == MODEL_REQUESTS and withinShare(capR, s.Qk, 1, s.Wo))) then
    redis.call('HINCRBY', KEYS[9], b, 1)
    redis.call('PEXPIRE', KEYS[9], ttl)
  end
  if s.moved then touchModel() end
  local retry
  if verdict == KEY_PARALLEL_LIMIT then
    retry = bm
  elseif mode == 1 then
    retry = minuteEnd - now
  else
    -- Replay the window's buckets leaving it, oldest first.
    retry = N * bm
    local Um, Qm, Uk, Qk, Wo, Co, act = s.Um, s.Qm, s.Uk, s.Qk, s.Wo, s.Co, s.act
    local mt, mr, maw, mac = load(KEYS[1]), load(KEYS[2]), load(KEYS[3]), load(KEYS[4])
    for x = start, b do
      Um = Um - (mt[x] or 0)
      Qm = Qm - (mr[x] or 0)
      Wo = Wo - (maw[x] or 0)
      Co = Co - (mac[x] or 0)
      Uk = Uk - (s.kt[x] or 0)
      Qk = Qk - (s.kr[x] or 0)
      if act and s.last == x then
        act = false
        Wo = Wo + s.kw
        Co = Co + 1
      end
      if evaluate(Um, Qm, Uk, Qk, math.max(0, Wo), Co, act, s.inflight, est, false) == 0 then
        retry = (x + N) * bm - now
        break
      end
    end
  end
  local out = {verdict, 0, b, retry, activeCount(s)}
  snapshot(s, out)
  if mode == 0 and verdict ~= KEY_PARALLEL_LIMIT and verdict ~= KEY_REQUEST_LIMIT and verdict ~= KEY_TOKEN_LIMIT then
    -- Turned away by the model, the key still wants its share: it counts as active from now on.
    local firstInBucket = s.last ~= b
    markActive(s)
    if firstInBucket then
      for _, i in ipairs({3, 4, 7}) do redis.call('PEXPIRE', KEYS[i], ttl) end
    end
  end
  return out
end

local reserved = est
if capT ~= -1 then reserved = math.min(reserved, capT - s.Um) end
if kT ~= -1 then reserved = math.min(reserved, kT - s.Uk) end
if reserved < 0 then reserved = 0 end

addModel(1, 'T', b, reserved, false)
addModel(2, 'R', b, 1, false)
redis.call('HINCRBY', KEYS[5], b, reserved)
redis.call('HINCRBY', KEYS[6], b, 1)
local firstInBucket = s.last ~= b
markActive(s)
if kP ~= -1 then redis.call('ZADD', KEYS[8], now + flightTtl, rid) end
if s.moved then touchModel() end
if firstInBucket then touchKey() end

s.Um = s.Um + reserved
s.Qm = s.Qm + 1
s.Uk = s.Uk + reserved
s.Qk = s.Qk + 1
s.kt[b] = (s.kt[b] or 0) + reserved
s.kr[b] = (s.kr[b] or 0) + 1
s.act = true
local out = {0, reserved, b, 0, activeCount(s)}
snapshot(s, out)
return out
