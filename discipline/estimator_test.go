package discipline

import (
	"math"
	"testing"
)

// The estimator's outlier handling: the gate, and the run of outliers
// that becomes a phase jump only when it agrees with itself.
func TestEstimatorOutliers(t *testing.T) {
	const r = 1e-12 // 1 µs of noise
	newEst := func() *estimator {
		e := &estimator{defaultWander: 2e-10}
		e.start(0, 1e-6, 0, 1e-9)
		return e
	}
	t.Run("gate", func(t *testing.T) {
		e := newEst()
		for _, tc := range []struct {
			z    float64
			want bool
		}{{0, false}, {3e-6, false}, {-6e-6, false}, {20e-6, true}, {-200e-6, true}} {
			if got := e.gated(tc.z, r); got != tc.want {
				t.Errorf("offset %v: gated %v, want %v (phase sigma %v)", tc.z, got, tc.want, e.PhaseSigma())
			}
		}
	})
	for _, tc := range []struct {
		name  string
		run   []float64 // offsets of consecutive outliers, s
		drift float64   // allowed phase drift per sample
		want  []int
	}{
		{"scattered late pulses", []float64{200e-6, 35e-6, 900e-6, 120e-6, 60e-6, 410e-6}, 1e-4,
			[]int{outlierPending, outlierPending, outlierPending, outlierPending, outlierInconsistent, outlierInconsistent}},
		{"a real jump", []float64{50e-6, 51e-6, 49e-6, 50e-6, 50.5e-6}, lockedDrift,
			[]int{outlierPending, outlierPending, outlierPending, outlierPending, outlierJump}},
		// A burst of late pulses (a busy SoC for seconds) spreads over
		// hundreds of µs: a jump while acquiring, when the frequency may
		// be 100 ppm off, but not while locked.
		{"late burst, acquiring", []float64{50e-6, 300e-6, 120e-6, 200e-6, 80e-6}, 1e-4,
			[]int{outlierPending, outlierPending, outlierPending, outlierPending, outlierJump}},
		{"late burst, locked", []float64{50e-6, 300e-6, 120e-6, 200e-6, 80e-6, 150e-6}, lockedDrift,
			[]int{outlierPending, outlierPending, outlierPending, outlierPending, outlierInconsistent, outlierInconsistent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEst()
			for i, z := range tc.run {
				v, jump := e.outlier(z, r, jumpSamples, tc.drift)
				if v != tc.want[i] {
					t.Fatalf("outlier %d (%v): verdict %d, want %d", i, z, v, tc.want[i])
				}
				if v == outlierJump && math.Abs(jump-median(tc.run[:i+1])) > 1e-9 {
					t.Errorf("jump %v, want the run's median %v", jump, median(tc.run[:i+1]))
				}
			}
			if len(e.rejects) > jumpSamples {
				t.Errorf("%d outliers kept, at most %d", len(e.rejects), jumpSamples)
			}
		})
	}
	t.Run("an accepted sample ends the run", func(t *testing.T) {
		e := newEst()
		e.outlier(200e-6, r, jumpSamples, lockedDrift)
		e.update(e.stab.t0, 0.5e-6, r, false, false, false)
		if len(e.rejects) != 0 {
			t.Errorf("%d outliers kept after an accepted sample", len(e.rejects))
		}
		if e.FrequencyPPM() == 0 && e.Phase() == 0 {
			t.Errorf("the update moved nothing")
		}
	})
}
