-- Settles the bound call (ARGV 18-22, see settleReservation) and returns the key's standing
-- afterwards.
local function settleOne()
  settleReservation()
  local s = state()
  local out = {activeCount(s)}
  snapshot(s, out)
  return out
end
