package discipline

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// curve is a Pi crystal's frequency correction against its temperature:
// a parabola with its turnover at 25 °C.
func curve(tempC float64) float64 { return 12 - 0.004*(tempC-25)*(tempC-25) }

// The model learns a parabola from noisy observations over the range it
// sees, predicts changes within it to a small fraction of their size with
// an honest sigma, and says it knows little outside it.
func TestTempModelLearns(t *testing.T) {
	tests := []struct {
		name       string
		lo, hi     float64 // temperatures observed
		at0, at1   float64 // the change predicted
		maxRelErr  float64 // of the change, when known
		wantSigmaG float64 // sigma at least (outside the range) or at most
		outside    bool
	}{
		{"daily range", 40, 65, 42, 62, 0.05, 0.05, false},
		{"narrow range, far prediction", 49, 51, 50, 80, 0, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var m TempModel
			for i := range 400 {
				T := tc.lo + (tc.hi-tc.lo)*(0.5+0.5*math.Sin(float64(i)/20))
				m.Observe(T, curve(T)+0.01*rng.NormFloat64(), 1/(0.01*0.01), 64.0/3600)
			}
			d, s := m.PredictDelta(tc.at0, tc.at1)
			want := curve(tc.at1) - curve(tc.at0)
			t.Logf("delta %.4f ppm (true %.4f), sigma %.4f; coef %v", d, want, s, m.Coef)
			if tc.outside {
				if s < tc.wantSigmaG || math.Abs(d-want) > 3*s {
					t.Errorf("outside the range observed: error %.3f ppm with sigma %.3f, want sigma at least %v covering it", d-want, s, tc.wantSigmaG)
				}
				return
			}
			if math.Abs(d-want) > tc.maxRelErr*math.Abs(want) || s > tc.wantSigmaG {
				t.Errorf("delta %.4f ppm, want %.4f within %.0f%%; sigma %.4f, want at most %.3f",
					d, want, 100*tc.maxRelErr, s, tc.wantSigmaG)
			}
			if math.Abs(d-want) > 4*s+0.005 {
				t.Errorf("error %.4f ppm beyond 4 sigma (%.4f)", d-want, s)
			}
		})
	}
}

// Absurd observations change nothing; a model with too few observations
// does not predict.
func TestTempModelRefusesBadInput(t *testing.T) {
	var m TempModel
	for _, o := range [][3]float64{{math.NaN(), 1, 1}, {50, math.Inf(1), 1}, {50, 1, 0}, {500, 1, 1}, {50, 1, math.Inf(1)}} {
		m.Observe(o[0], o[1], o[2], 0)
	}
	if m.N != 0 {
		t.Fatalf("absurd observations taken: %d", m.N)
	}
	m.Observe(50, 1, 1, 0)
	if _, s := m.Predict(50); !math.IsInf(s, 1) || m.Ready() {
		t.Errorf("a model of one observation predicts with sigma %v", s)
	}
}

// The drift file keeps the model on a second line and still reads as
// chrony's two numbers on the first; files of the old format read as
// before, and a damaged model line loses the model, not the frequency.
func TestDriftFileWithModel(t *testing.T) {
	dir := t.TempDir()
	var m TempModel
	for i := range 50 {
		T := 40 + float64(i%20)
		m.Observe(T, curve(T), 1e4, 0.02)
	}
	p := filepath.Join(dir, "drift")
	if err := WriteDriftState(p, 12.5, 0.01, &m); err != nil {
		t.Fatal(err)
	}
	f, s, got, err := ReadDriftState(p, 500)
	if err != nil || f != 12.5 || s != 0.01 || got == nil {
		t.Fatalf("read %v %v %v %v", f, s, got, err)
	}
	d0, _ := m.PredictDelta(40, 60)
	d1, _ := got.PredictDelta(40, 60)
	if got.N != m.N || math.Abs(d0-d1) > 1e-6 {
		t.Errorf("model read back predicts %v (N %d), want %v (N %d)", d1, got.N, d0, m.N)
	}
	for _, tc := range []struct {
		name, content string
		model         bool
	}{
		{"old format", "3.000000 0.100000\n", false},
		{"damaged model", "3.000000 0.100000\ntempcomp1 1 2 x\n", false},
		{"model with NaN", "3.000000 0.100000\ntempcomp1 50 9 1 1 1 1 0 0 1 0 1 0 40 60 NaN\n", false},
	} {
		if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		f, _, got, err := ReadDriftState(p, 500)
		if err != nil || f != 3 || (got != nil) != tc.model {
			t.Errorf("%s: freq %v model %v err %v", tc.name, f, got, err)
		}
	}
}
