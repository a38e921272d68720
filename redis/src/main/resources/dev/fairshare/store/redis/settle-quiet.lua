-- Settles (ARGV 18-22, see settleReservation) for a caller that does not need the standing.
settleReservation()
return 0
