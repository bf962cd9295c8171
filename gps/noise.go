package gps

import (
	"log/slog"
	"time"
)

// logNoise says that the serial line carries bytes that are not NMEA (a
// wrong rate, a binary protocol left on, a loose wire), n more lines of them
// at at, as often as the throttle lets it.
func logNoise(log *slog.Logger, t *logThrottle, n uint64, at time.Time) {
	first, prev := !t.said, t.last
	say, since := t.note(at, n)
	switch {
	case !say:
	case first:
		log.Warn("gps: dropping serial data that is not NMEA (wrong baud rate, binary protocol on, or line noise?)",
			"lines", since)
	default:
		log.Warn("gps: still dropping serial data that is not NMEA", "lines", since, "since", prev, "total", t.total)
	}
}
