-- The key's standing (as settle.lua returns it), then its tokens and calls in flight and its calls
-- refused by the model in the window (ModelWindow.standing). Admits nothing.
local s = state()
if s.moved then touchModel() end
local out = {activeCount(s)}
snapshot(s, out)
local flight = redis.call('HMGET', KEYS[7], 'res', 'n')
out[#out + 1] = math.max(0, tonumber(flight[1]) or 0)
out[#out + 1] = math.max(0, tonumber(flight[2]) or 0)
out[#out + 1] = sum(load(KEYS[15]))
return out
