-- Settles (ARGV 13-16, see settleReservation) for a caller that does not need the standing.
settleReservation()
return 0
