package appliance

import (
	"testing"
	"time"
)

// The GPS row's tally as ntpd shows an NMEA refclock: with the pulse in
// use, sentences 150 ms off (an unconfigured latency) against a 20 ms
// error are a falseticker, not a candidate.
func TestGPSTally(t *testing.T) {
	const nmeaErr = 20 * time.Millisecond
	tests := []struct {
		name                       string
		distrusted, withPPS, inUse bool
		mode                       int
		offset                     time.Duration
		want                       string
	}{
		{"PPS in use, NMEA 150 ms off", false, true, true, 3, 151 * time.Millisecond, "x"},
		{"PPS in use, NMEA -150 ms off", false, true, true, 3, -151 * time.Millisecond, "x"},
		{"PPS in use, NMEA within its error", false, true, true, 3, 3 * time.Millisecond, "+"},
		{"PPS in use, no fix", false, true, true, 1, 0, " "},
		{"NMEA alone in use", false, false, true, 3, 0, "*"},
		{"not in use, fix", false, true, false, 3, 151 * time.Millisecond, "+"},
		{"distrusted", true, true, true, 3, 0, "x"},
	}
	for _, tt := range tests {
		if got := gpsTally(tt.distrusted, tt.withPPS, tt.inUse, tt.mode, tt.offset, nmeaErr); got != tt.want {
			t.Errorf("%s: tally %q, want %q", tt.name, got, tt.want)
		}
	}
}
