package gps

import (
	"log/slog"
	"time"
)

// noiseEvery is the least time between two log lines about serial garbage.
const noiseEvery = time.Minute

// noiseLog says that the serial line carries bytes that are not NMEA (a
// wrong rate, a binary protocol left on, a loose wire): at the first
// occurrence, and then at most once per noiseEvery with the count since the
// last line. The status counters keep the exact figures.
type noiseLog struct {
	pending uint64 // lines dropped since the last log line
	total   uint64
	last    time.Time
	said    bool
}

// add counts n more dropped lines seen at at, and logs when it is time.
func (g *noiseLog) add(log *slog.Logger, n uint64, at time.Time) {
	if n == 0 {
		return
	}
	g.pending += n
	g.total += n
	switch {
	case !g.said:
		log.Warn("gps: dropping serial data that is not NMEA (wrong baud rate, binary protocol on, or line noise?)",
			"lines", g.pending)
	case at.Sub(g.last) >= noiseEvery || at.Before(g.last):
		log.Warn("gps: still dropping serial data that is not NMEA", "lines", g.pending, "since", g.last, "total", g.total)
	default:
		return
	}
	g.said, g.last, g.pending = true, at, 0
}
