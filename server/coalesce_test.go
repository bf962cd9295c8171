package server

import (
	"testing"
	"time"
)

func TestCoalescerHold(t *testing.T) {
	tests := []struct {
		name    string
		max     time.Duration
		rate    int // requests per second, in batches of batch
		batch   int
		wantMin time.Duration
		wantMax time.Duration
	}{
		{"disabled", 0, 100_000, 1, 0, 0},
		{"light load answers at once", 100 * time.Microsecond, 10_000, 1, 0, 0},
		{"under coalesceMin per wait", 50 * time.Microsecond, 78_000, 1, 0, 0},
		{"busy: waits for the rest of a batch", 100 * time.Microsecond, 48_000, 1, 100 * time.Microsecond, 100 * time.Microsecond},
		{"very busy: waits only as long as a batch takes", 50 * time.Microsecond, 400_000, 2, 39 * time.Microsecond, 41 * time.Microsecond},
		{"default, at the 10k/s of the round-trip target: no wait", DefaultCoalesce, 10_000, 1, 0, 0},
		{"default, at 48k/s: the longest wait", DefaultCoalesce, 48_000, 1, DefaultCoalesce, DefaultCoalesce},
		{"default, at 100k/s: a batch's worth", DefaultCoalesce, 100_000, 1, 159 * time.Microsecond, 161 * time.Microsecond},
		{"full batches: no wait", 100 * time.Microsecond, 400_000, coalesceBatch, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := coalescer{max: tt.max}
			now := time.Unix(1e9, 0)
			gap := time.Duration(float64(tt.batch) / float64(tt.rate) * 1e9)
			var got time.Duration
			// Two measurement windows, so that the rate is known.
			for el := time.Duration(0); el < 3*coalesceWindow; el += gap {
				got = c.hold(now.Add(el), tt.batch)
			}
			if got < tt.wantMin || got > tt.wantMax {
				t.Errorf("hold = %v, want %v..%v (measured %.0f/s)", got, tt.wantMin, tt.wantMax, c.perSecond)
			}
		})
	}
}

func TestCoalescerForgetsALoadThatStopped(t *testing.T) {
	c := coalescer{max: 100 * time.Microsecond}
	now := time.Unix(1e9, 0)
	for i := 0; i < 2000; i++ { // 100k/s for 20 ms
		now = now.Add(10 * time.Microsecond)
		c.hold(now, 1)
	}
	if c.hold(now, 1) == 0 {
		t.Fatal("no wait under load")
	}
	// One request after a second of silence: the window's rate is 1/s.
	if d := c.hold(now.Add(time.Second), 1); d != 0 {
		t.Errorf("hold after silence = %v, want 0", d)
	}
}

// TestCoalescerHysteresis follows a load up through coalesceMin and down
// through coalesceLeave: between the two the worker keeps its mode.
func TestCoalescerHysteresis(t *testing.T) {
	c := coalescer{max: DefaultCoalesce} // enters at 20k/s, leaves under 15k/s
	now := time.Unix(1e9, 0)
	steps := []struct {
		rate int
		wait bool
	}{
		{17_000, false}, // below the entry: answers at once
		{19_000, false},
		{21_000, true}, // enters
		{19_000, true}, // hovering under the entry: stays
		{16_000, true},
		{14_000, false}, // under the exit: leaves
		{17_000, false}, // and stays out until the entry again
		{20_500, true},
	}
	for _, s := range steps {
		gap := time.Second / time.Duration(s.rate)
		var got time.Duration
		// Three windows at this rate.
		for end := now.Add(3 * coalesceWindow); now.Before(end); now = now.Add(gap) {
			got = c.hold(now, 1)
		}
		if (got > 0) != s.wait {
			t.Errorf("at %d/s (measured %.0f/s) after the steps before: hold = %v, want a wait: %v", s.rate, c.perSecond, got, s.wait)
		}
	}
}
