-- The key's standing (as settleOne returns it), then its tokens and calls in flight and its calls
-- refused by the model in the window (ModelWindow.standing). Admits nothing.
local function standingOne()
  local s = state()
  flush(s)
  local out = {activeCount(s)}
  snapshot(s, out)
  out[#out + 1] = math.max(0, s.res)
  out[#out + 1] = math.max(0, s.n)
  out[#out + 1] = sum(column(allRows(KEYS[2], KEY_ROW), X))
  return out
end
