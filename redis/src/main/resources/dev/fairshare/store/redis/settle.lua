-- Settles (ARGV 18-22, see settleReservation) and returns the key's standing afterwards.
settleReservation()
local s = state()
local out = {activeCount(s)}
snapshot(s, out)
return out
