package peer

import (
	"testing"
	"time"
)

func TestFilterPicksMinimumDelay(t *testing.T) {
	f := newClockFilter()
	t0 := time.Unix(1_700_000_000, 0)
	samples := []sample{
		{offset: 10 * ms, delay: 40 * ms, disp: ms},
		{offset: 2 * ms, delay: 5 * ms, disp: ms},
		{offset: 20 * ms, delay: 60 * ms, disp: ms},
	}
	var fresh []bool
	for i, s := range samples {
		s.t = t0.Add(time.Duration(i) * 64 * time.Second)
		fresh = append(fresh, f.add(s, time.Microsecond))
	}
	if f.offset != 2*ms || f.delay != 5*ms {
		t.Errorf("filter chose offset %v delay %v, want the 5 ms delay sample's 2 ms", f.offset, f.delay)
	}
	// The third sample did not displace the second: not fresh (prime
	// directive, a sample is used only once).
	if want := []bool{true, true, false}; fresh[0] != want[0] || fresh[1] != want[1] || fresh[2] != want[2] {
		t.Errorf("fresh = %v, want %v", fresh, want)
	}
	if f.jitter < 5*ms {
		t.Errorf("jitter %v, want the RMS of 8 and 18 ms differences", f.jitter)
	}
}

func TestFilterDispersionGrowsWhenSilent(t *testing.T) {
	f := newClockFilter()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 8 {
		f.add(sample{offset: ms, delay: 2 * ms, disp: ms, t: t0.Add(time.Duration(i) * time.Second)}, time.Microsecond)
	}
	full := f.disp
	if full > 2*ms {
		t.Fatalf("dispersion %v with eight good samples", full)
	}
	for i := range 8 {
		f.miss(t0.Add(time.Duration(10+i) * time.Second))
	}
	if f.disp < 15*time.Second {
		t.Errorf("dispersion %v after eight misses, want near 16 s", f.disp)
	}
}

func TestFilterOldSampleNotReused(t *testing.T) {
	f := newClockFilter()
	t0 := time.Unix(1_700_000_000, 0)
	f.add(sample{offset: ms, delay: ms, disp: ms, t: t0}, 0)
	// A later sample with larger delay leaves the first in front: no update.
	if f.add(sample{offset: 9 * ms, delay: 9 * ms, disp: ms, t: t0.Add(time.Second)}, 0) {
		t.Error("reused an already-used sample as fresh")
	}
	if f.offset != ms {
		t.Errorf("offset %v, want 1ms", f.offset)
	}
}

func TestClockFilterShiftFollowsAStep(t *testing.T) {
	f := newClockFilter()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4 {
		f.add(sample{offset: 300 * time.Millisecond, delay: time.Millisecond, t: t0.Add(time.Duration(i) * time.Minute)}, time.Microsecond)
	}
	// The clock steps forward by the 300 ms the peers said it was behind.
	f.shift(300 * time.Millisecond)
	f.add(sample{offset: 0, delay: 2 * time.Millisecond, t: t0.Add(5 * time.Minute)}, time.Microsecond)
	if f.offset < -time.Millisecond || f.offset > time.Millisecond {
		t.Fatalf("after the step the filter says %v, want about 0", f.offset)
	}
	if f.jitter > time.Millisecond {
		t.Fatalf("jitter %v: the pre-step samples were not shifted", f.jitter)
	}
}
