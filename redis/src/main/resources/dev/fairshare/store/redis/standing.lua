-- The key's standing (as settleOne returns it), then its tokens and calls in flight and its calls
-- refused by the model in the window (ModelWindow.standing). Admits nothing.
local function standingOne()
  local s = state()
  flush(s)
  local out = {activeCount(s)}
  snapshot(s, out)
  out[#out + 1] = math.max(0, kget(s, 'res') or 0)
  out[#out + 1] = math.max(0, kget(s, 'n') or 0)
  out[#out + 1] = sum(columns(KEYS[2]).x)
  return out
end
