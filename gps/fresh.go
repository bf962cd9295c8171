package gps

// freshness decides which epochs of one connection are handed on: not
// the first, which may be partial or have waited in a buffer while the
// port was closed; its arrival time would say nothing about the pulse it
// names. (A backlog queued upstream of the tty, which no flush reaches,
// is for the pairer's label checks: a test receiver sends its seconds at
// the line rate, as a backlog does.)
type freshness struct {
	n int
}

// keep reports whether e is to be handed on.
func (f *freshness) keep(e Epoch) bool {
	if !e.HasTime() || e.Arrival.IsZero() {
		return true
	}
	f.n++
	return f.n > 1
}
