package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The tracker's frequency error at the last sample, over many random-walk
// oscillators seen through white phase noise, is the Kalman bound
// √(√2·q^¾·R^¼), and its own standard deviation says so.
func TestFreqTrackerBound(t *testing.T) {
	for _, tc := range []struct{ w, jitter float64 }{
		{2e-10, 1e-6},
		{1e-9, 1e-6},
		{2e-10, 200e-9},
	} {
		q, r := tc.w*tc.w, tc.jitter*tc.jitter
		bound := math.Sqrt(math.Sqrt2 * math.Pow(q, 0.75) * math.Pow(r, 0.25))
		rng := rand.New(rand.NewPCG(1, 2))
		const runs = 400
		var ss, sySum float64
		for range runs {
			var k freqTracker
			y := 30e-6 + rng.NormFloat64()*1e-6
			phase := rng.Float64()
			for i := range 3000 {
				phase += y
				y += tc.w * rng.NormFloat64()
				k.add(float64(i), phase+tc.jitter*rng.NormFloat64(), r, q)
			}
			est, sy := k.frequency()
			ss += (est - y) * (est - y)
			sySum += sy
		}
		rms := math.Sqrt(ss / runs)
		if rms > 1.15*bound || rms < 0.85*bound {
			t.Errorf("w %g, jitter %g: RMS frequency error %.3g, want the bound %.3g", tc.w, tc.jitter, rms, bound)
		}
		if sy := sySum / runs; math.Abs(sy-bound) > 0.02*bound {
			t.Errorf("w %g, jitter %g: stated deviation %.3g, want %.3g", tc.w, tc.jitter, sy, bound)
		}
	}
}

// A phase jump the loop accepted restarts the tracker rather than bending
// its frequency, and it learns the frequency again.
func TestFreqTrackerJump(t *testing.T) {
	const y, r, q = 20e-6, 1e-12, 4e-20
	rng := rand.New(rand.NewPCG(3, 4))
	var k freqTracker
	for i := range 2000 {
		z := y*float64(i) + 1e-6*rng.NormFloat64()
		if i >= 1000 {
			z += 1e-3
		}
		k.add(float64(i), z, r, q)
		if i == 1000 && k.n != 1 {
			t.Fatalf("a 1 ms jump did not restart the tracker (%d samples)", k.n)
		}
	}
	if est, sy := k.frequency(); math.Abs(est-y) > 4*sy || sy > 5e-9 {
		t.Errorf("after the jump: frequency %g ± %g, want %g", est, sy, y)
	}
}
