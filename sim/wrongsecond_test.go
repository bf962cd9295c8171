package sim

import (
	"fmt"
	"testing"
	"time"
)

// The lab's wrong-second cases in virtual time, across seeds: NMEA late and
// jittery in the second, a backlog of stale sentences at start and after
// an unplug, a restart on a clock already right (the kernel vouches for
// it), and a clock a little more than pps.nearest_within off at start.
// No served second may be wrong.
func TestNoWrongSecondServed(t *testing.T) {
	cases := []struct {
		name string
		set  func(s *Settings, seed int64)
	}{
		{"late jittery NMEA", func(s *Settings, seed int64) {
			s.NMEALatency = 500 * time.Millisecond
			s.NMEAJitter = 450 * time.Millisecond
		}},
		{"stale backlog at start, clock off", func(s *Settings, seed int64) {
			s.StaleNMEA = 2 + int(seed%3)
		}},
		{"restart on a right clock with a backlog", func(s *Settings, seed int64) {
			s.InitialOffset = 2 * time.Microsecond
			s.ClockTrusted = true
			s.StaleNMEA = 1 + int(seed%3)
			s.NMEALatency = 500 * time.Millisecond
			s.NMEAJitter = 300 * time.Millisecond
		}},
		{"backlog after an unplug", func(s *Settings, seed int64) {
			s.StaleNMEA = 2
			s.Unplugged = []Window{{At: 10 * time.Minute, Length: 20 * time.Second}}
		}},
		{"clock just past nearest_within", func(s *Settings, seed int64) {
			s.InitialOffset = 300*time.Millisecond + time.Duration(seed%6)*10*time.Millisecond
			s.NMEALatency = 600 * time.Millisecond
			s.NMEAJitter = 350 * time.Millisecond
		}},
	}
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for _, tc := range cases {
		for seed := int64(1); seed <= int64(seeds); seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", tc.name, seed), func(t *testing.T) {
				s := DefaultSettings()
				s.Duration, s.Seed = 20*time.Minute, seed
				tc.set(&s, seed)
				sum := runBox(t, s)
				if sum.ServedWrongS != 0 {
					t.Errorf("served the wrong second for %d s", sum.ServedWrongS)
				}
				if sum.ServedS < 600 {
					t.Errorf("served only %d s of 1200", sum.ServedS)
				}
			})
		}
	}
}
