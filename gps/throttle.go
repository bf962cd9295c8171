package gps

import "time"

// logEvery is the least time between two log lines about one recurring
// problem of the serial line (garbage, sentences the NMEA library panics
// on). The status counters keep the exact figures.
const logEvery = time.Minute

// logThrottle lets a recurring problem reach the log at its first
// occurrence and then at most once per logEvery, with how many occurrences
// the line covers: a receiver that repeats a bad sentence every second must
// not fill the journal. A clock that stepped back is said at once rather
// than after the step's size.
type logThrottle struct {
	last    time.Time
	said    bool
	pending uint64 // occurrences since the last line
	total   uint64
}

// note counts n occurrences at now and reports whether to log them, with
// the number of occurrences since the previous line (these included).
func (t *logThrottle) note(now time.Time, n uint64) (say bool, since uint64) {
	if n == 0 {
		return false, 0
	}
	t.pending += n
	t.total += n
	if t.said && now.Sub(t.last) < logEvery && !now.Before(t.last) {
		return false, 0
	}
	since, t.pending = t.pending, 0
	t.said, t.last = true, now
	return true, since
}
