package server

import (
	"testing"
	"time"
)

// TestPHCClock feeds pairs from a simulated card clock that runs 25 ppm
// fast and 3 s behind the system clock, read with 50 ns of noise, and
// checks conversions between and after the pairs.
func TestPHCClock(t *testing.T) {
	const (
		offsetNs = -3_000_000_000
		ppm      = 25e-6
	)
	sys0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixNano()
	phcAt := func(sysNs int64) int64 { return sysNs + offsetNs + int64(float64(sysNs-sys0)*ppm) }
	var c phcClock
	if _, ok := c.toSys(phcAt(sys0)); ok {
		t.Fatal("converted without any pair")
	}
	noise := []int64{50, -50, 20, -10, 0, 35, -45, 5}
	var sys int64
	for i := range 20 {
		sys = sys0 + int64(i)*int64(time.Second)
		c.add(phcAt(sys)+noise[i%len(noise)], sys)
	}
	for _, d := range []time.Duration{-900 * time.Millisecond, 0, 500 * time.Millisecond, 5 * time.Second} {
		want := sys + int64(d)
		got, ok := c.toSys(phcAt(want))
		if !ok {
			t.Fatalf("%v from the last pair: not converted", d)
		}
		if e := time.Duration(got - want); e.Abs() > 200*time.Nanosecond {
			t.Errorf("%v from the last pair: error %v", d, e)
		}
	}
	if _, ok := c.toSys(phcAt(sys + int64(phcMaxAge) + int64(time.Second))); ok {
		t.Error("converted a reading far beyond the last pair")
	}
}

func TestPHCClockDoesNotAllocate(t *testing.T) {
	var c phcClock
	c.add(1e18, 1e18+5)
	c.add(1e18+1e9, 1e18+1e9+5)
	if n := testing.AllocsPerRun(100, func() { c.toSys(1e18 + 5e8) }); n != 0 {
		t.Fatalf("%v allocations per conversion", n)
	}
}
