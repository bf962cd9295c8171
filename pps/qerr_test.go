package pps

import (
	"math"
	"testing"
	"time"
)

// Pulses that leave on a receiver's clock tick carry a sawtooth; the qErr
// announced before each pulse takes it out, and a qErr never applies to a
// pulse it does not belong to.
func TestPairerQErr(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lat := 3 * time.Millisecond
	saw := func(i int) time.Duration { return time.Duration(i%7-3) * 7 * time.Nanosecond }
	for _, tc := range []struct {
		name     string
		announce func(i int, edge time.Time) (time.Duration, time.Time, bool)
		maxErr   time.Duration
	}{
		{"no qErr", func(int, time.Time) (time.Duration, time.Time, bool) { return 0, time.Time{}, false }, 21 * time.Nanosecond},
		{"qErr 500 ms ahead", func(i int, edge time.Time) (time.Duration, time.Time, bool) {
			return saw(i), edge.Add(-500 * time.Millisecond), true
		}, 0},
		{"qErr for another pulse", func(i int, edge time.Time) (time.Duration, time.Time, bool) {
			return saw(i), edge.Add(-1500 * time.Millisecond), true // stale: the one before
		}, 21 * time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPairer(DefaultConfig(), nil)
			p.SetSource("test", BackendSimulated, time.Nanosecond)
			var worst time.Duration
			n := 0
			for i := range 40 {
				sec := t0.Add(time.Duration(i) * time.Second)
				edge := sec.Add(saw(i))
				if q, at, ok := tc.announce(i, edge); ok {
					p.SetQErr(q, at)
				}
				p.Edge(Edge{Local: edge})
				if s, ok := p.Second(Second{UTC: sec, Arrival: sec.Add(lat), Fix: true}); ok {
					n++
					worst = time.Duration(math.Max(float64(worst), float64(s.Offset().Abs())))
				}
			}
			if n < 20 || worst > tc.maxErr || tc.maxErr > 0 && worst < 14*time.Nanosecond {
				t.Errorf("%d samples, worst offset %v, want at most %v", n, worst, tc.maxErr)
			}
		})
	}
}
