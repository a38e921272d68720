-- Settles the bound call (ARGV 18-22, see settleReservation) for a caller that does not need the
-- standing.
local function settleQuietOne()
  settleReservation()
  return 0
end
