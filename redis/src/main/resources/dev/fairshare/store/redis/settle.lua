-- Settles (ARGV 13-16, see settleReservation) and returns the key's standing afterwards.
settleReservation()
local s = state()
local out = {activeCount(s)}
snapshot(s, out)
return out
