-- The key's standing (as settleOne returns it), then its tokens and calls in flight and its calls
-- refused by the model in the window (ModelWindow.standing). Admits nothing.
local function standingOne()
  local s = state()
  flush(s)
  local out = {activeCount(s)}
  snapshot(s, out)
  out[#out + 1] = math.max(0, s.res)
  out[#out + 1] = math.max(0, s.n)
  local refused = 0
  local flat = redis.call('HGETALL', KEYS[8])
  for i = 1, #flat, 2 do
    if tonumber(flat[i]) >= start then refused = refused + tonumber(flat[i + 1]) end
  end
  out[#out + 1] = refused
  return out
end
