package discipline

import (
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"
)

// onsetTrial runs an estimator locked to PPS with 1 µs of Gaussian noise
// from seed until its detectors are armed, then for 40 more updates, the
// first of them offset by late (seconds), and the u-th of the 40 by
// drift(u). It returns the update at which a disturbance was detected,
// 0 for none, -1 for a detection before the 40 (a false alarm of the
// noise alone, the same whatever late and drift).
func onsetTrial(seed uint64, late float64, drift func(u int) float64) int {
	const r = 1e-12
	e := &estimator{log: slog.New(slog.DiscardHandler), defaultWander: 2e-10}
	e.start(0, 1e-6, 0, 1e-9)
	rng := rand.New(rand.NewPCG(seed, 1))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	settle := 2 * (onsetLen + onsetArm)
	for u := -settle; u <= 40; u++ {
		z := rng.NormFloat64() * 1e-6
		if u == 1 {
			z += late
		}
		if u > 0 {
			z += drift(u)
		}
		now = now.Add(time.Second)
		e.predict(now, 1, PPS, false, 0)
		if e.gated(z, r) {
			continue
		}
		e.update(now, z, r, true, true, true)
		if e.Disturbances() > 0 {
			return max(u, -1)
		}
	}
	return 0
}

// The drift-step detector, locked to PPS with 1 µs of jitter: a pulse late
// by most of the outlier gate, which the gate lets through, must not set
// it off more often than the noise alone does, while a real drift step is
// still found within about 20 s.
func TestOnsetDetector(t *testing.T) {
	const trials = 400
	none := func(int) float64 { return 0 }
	// A 2 ppm temperature step through a 3 min thermal lag drifts at
	// first by 1.1e-8/s.
	step := func(u int) float64 { return 0.5 * 1.1e-8 * float64(u*u) }
	var quiet, late, found, slow, n, at int
	for i := range uint64(trials) {
		if onsetTrial(i, 0, none) < 0 {
			continue
		}
		n++
		if onsetTrial(i, 0, none) > 0 {
			quiet++
		}
		// 4 µs, the innovation's 3.8 sigma: inside the 5 sigma gate
		// even with the noise.
		if onsetTrial(i, 4e-6, none) > 0 {
			late++
		}
		u := onsetTrial(i, 0, step)
		at += u
		if u > 0 && u <= 25 {
			found++
		} else if u > 0 {
			slow++
		}
	}
	t.Logf("%d trials: %d detections on noise alone, %d with a late pulse; a drift step found within 25 s %d times (after %.1f s on average), later %d",
		n, quiet, late, found, float64(at)/float64(n), slow)
	if late > quiet+n/100 {
		t.Errorf("a late pulse inside the gate set the detector off in %d of %d trials, the noise alone in %d", late, n, quiet)
	}
	if found < n*9/10 {
		t.Errorf("a drift step found within 25 s in %d of %d trials, want 90%%", found, n)
	}
}
