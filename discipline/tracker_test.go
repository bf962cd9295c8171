package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The single tracker's frequency error at the last sample (the bank's
// first, under the assumed wander), over many random-walk oscillators seen
// through white phase noise, is the Kalman bound √(√2·q^¾·R^¼), and its
// own standard deviation says so.
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
			b, y := trackOscillator(rng, 3000, tc.w, tc.jitter, q)
			est, sy := b.assumed().frequency()
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

// A phase jump the loop accepted restarts every tracker of the bank rather
// than bending their frequency, and they learn the frequency again.
func TestFreqTrackerJump(t *testing.T) {
	const y, r, q = 20e-6, 1e-12, 4e-20
	rng := rand.New(rand.NewPCG(3, 4))
	var b trackerBank
	for i := range 2000 {
		z := y*float64(i) + 1e-6*rng.NormFloat64()
		if i >= 1000 {
			z += 1e-3
		}
		b.add(float64(i), z, r, q)
		if i == 1000 {
			for j := range b.k {
				if b.k[j].n != 1 {
					t.Fatalf("a 1 ms jump did not restart tracker %d (%d samples)", j, b.k[j].n)
				}
			}
		}
	}
	for name, k := range map[string]*freqTracker{"single tracker": b.assumed(), "bank": b.best()} {
		if est, sy := k.frequency(); math.Abs(est-y) > 4*sy || sy > 5e-9 {
			t.Errorf("%s after the jump: frequency %g ± %g, want %g", name, est, sy, y)
		}
	}
}

// The bank lets the data choose the history: on a crystal that does not
// wander (a lab's, an oven's) its frequency after 20 minutes is the
// straight-line fit's over them, ten times better than the tracker under
// the assumed wander; on one that wanders as assumed it keeps the Kalman
// bound, and on one that wanders three times more it is no worse than the
// single tracker.
func TestTrackerBankChoosesHistory(t *testing.T) {
	const w, jitter = 2e-10, 1e-6
	q, r := w*w, jitter*jitter
	bound := math.Sqrt(math.Sqrt2 * math.Pow(q, 0.75) * math.Pow(r, 0.25))
	for _, tc := range []struct {
		name      string
		wander    float64
		n         int
		want      func(n float64) float64 // largest RMS error
		vsTracker float64                 // largest ratio to the single tracker's
	}{
		{"quiet crystal", 0, 1200, func(n float64) float64 { return 1.3 * jitter * math.Sqrt(12/(n*n*n)) }, 0.2},
		{"quiet crystal, 5 minutes", 0, 300, func(n float64) float64 { return 1.3 * jitter * math.Sqrt(12/(n*n*n)) }, 0.8},
		{"wander as assumed", w, 3000, func(float64) float64 { return 1.1 * bound }, 1.1},
		{"three times the wander", 3 * w, 3000, func(float64) float64 { return math.Inf(1) }, 1.02},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		const runs = 200
		var ssBank, ssOne float64
		for range runs {
			bank, y := trackOscillator(rng, tc.n, tc.wander, jitter, q)
			e, _ := bank.assumed().frequency()
			ssOne += (e - y) * (e - y)
			e, _ = bank.best().frequency()
			ssBank += (e - y) * (e - y)
		}
		rmsBank, rmsOne := math.Sqrt(ssBank/runs), math.Sqrt(ssOne/runs)
		t.Logf("%s: bank %.3g, single tracker %.3g", tc.name, rmsBank, rmsOne)
		if lim := tc.want(float64(tc.n)); rmsBank > lim || rmsBank > tc.vsTracker*rmsOne {
			t.Errorf("%s: RMS frequency error %.3g, want <= %.3g and <= %.2f x the single tracker's %.3g",
				tc.name, rmsBank, lim, tc.vsTracker, rmsOne)
		}
	}
}

// trackOscillator feeds a bank n samples, a second apart, of an oscillator
// some ppm off that wanders by wander/√s, seen through white phase noise
// of jitter (s), under the assumed wander variance q; it returns the bank
// and the oscillator's frequency at the last sample.
func trackOscillator(rng *rand.Rand, n int, wander, jitter, q float64) (b trackerBank, y float64) {
	y = 30e-6 + rng.NormFloat64()*1e-6
	phase := rng.Float64()
	for i := range n {
		phase += y
		y += wander * rng.NormFloat64()
		b.add(float64(i), phase+jitter*rng.NormFloat64(), jitter*jitter, q)
	}
	return b, y
}
