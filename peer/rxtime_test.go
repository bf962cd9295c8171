package peer

import (
	"testing"
	"time"

	"stratum1/internal/proctest"
)

func TestArrival(t *testing.T) {
	sys := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	served := sys.Add(-time.Hour) // a simulated clock an hour behind
	const limit = 2 * time.Second
	tests := []struct {
		name   string
		kernel time.Time
		ok     bool
		want   time.Time
	}{
		{"no kernel stamp", sys.Add(-3 * time.Millisecond), false, served},
		{"stamped 3 ms before the read", sys.Add(-3 * time.Millisecond), true, served.Add(-3 * time.Millisecond)},
		{"stamped at the read", sys, true, served},
		{"stamp after the read: clock stepped back", sys.Add(time.Millisecond), true, served},
		{"stamp too old: clock stepped forward", sys.Add(-limit - time.Millisecond), true, served},
	}
	for _, tt := range tests {
		if got := arrival(served, sys, tt.kernel, tt.ok, limit); !got.Equal(tt.want) {
			t.Errorf("%s: T4 %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestServedClockIsNotTheSystemClock: with Options.Now a clock 10 s behind
// the system clock, as the simulator's is, T1 and T4 must both be on that
// clock: the kernel's receive stamp only corrects T4. Taken raw, it would
// halve the offset and make the delay negative.
func TestServedClockIsNotTheSystemClock(t *testing.T) {
	t.Parallel()
	ap, _ := kodServer(t, "127.0.0.14", 0)
	cfg := DefaultConfig()
	cfg.Servers = []Source{fastSource(ap.String())}
	const behind = 10 * time.Second
	s := startSet(t, cfg, Options{Now: func() time.Time { return time.Now().Add(-behind) }})
	proctest.Eventually(t, 10*time.Second, 200*time.Millisecond, "a sample", func() bool {
		return rowsByName(s)[ap.String()].Delay > 0
	})
	r := rowsByName(s)[ap.String()]
	if d := r.Offset - behind; d < -2*time.Millisecond || d > 2*time.Millisecond {
		t.Errorf("offset %v, want %v", r.Offset, behind)
	}
	if r.Delay > 5*time.Millisecond {
		t.Errorf("delay %v on loopback", r.Delay)
	}
}
