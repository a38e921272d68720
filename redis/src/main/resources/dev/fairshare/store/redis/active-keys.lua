-- The keys active on the model in the window (ModelWindow.activeKeys): id, weight, id, weight...
bind(KEYS, ARGV)
local out = {}
for id, kw in pairs(activeKeys()) do
  out[#out + 1] = id
  out[#out + 1] = kw
end
return out
