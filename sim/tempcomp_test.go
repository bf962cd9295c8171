package sim

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// learnProfile is a CPU-load profile that moves the SoC between idle and
// full load (45 to 65 °C) over the first 2 h, as a box's jobs come and go.
func learnProfile() []Load {
	var ls []Load
	for i, share := range []float64{0.5, 0, 1, 0.25, 0.75, 0, 0.5, 0} {
		ls = append(ls, Load{Share: share, At: time.Duration(i+1) * 15 * time.Minute})
	}
	return ls
}

// holdoverSettings: the profile, then the pulses lost for an hour at
// 2h15m, during which the load rises by half (10 °C) after 5 minutes.
func holdoverSettings(seed int64, comp bool) Settings {
	s := DefaultSettings()
	s.Seed = seed
	s.Duration = 3*time.Hour + 20*time.Minute
	s.CPULoad = append(learnProfile(), Load{Share: 0.5, At: 2*time.Hour + 20*time.Minute})
	s.Outages = []Window{{At: 2*time.Hour + 15*time.Minute, Length: time.Hour}}
	s.NoTempComp = !comp
	return s
}

// The targets for the temperature compensation, over 20 seeds
// (docs/discipline.md has the figures): after 2 h of CPU-load changes the
// learnt curve is within 10% of the simulated crystal's; an hour's
// holdover through a 10 °C rise keeps at most 0.3x the error of the same
// run without compensation; and the RMS error while locked, through the
// load steps, is no worse than without.
func TestTempCompTargets(t *testing.T) {
	seeds := int64(20)
	if testing.Short() {
		seeds = 4
	}
	var ratios, curve []float64
	for seed := int64(1); seed <= seeds; seed++ {
		with := run(t, holdoverSettings(seed, true))
		without := run(t, holdoverSettings(seed, false))
		r := with.HoldoverMaxNs / without.HoldoverMaxNs
		ratios = append(ratios, r)
		curve = append(curve, with.TempCurveErr)
		t.Logf("seed %d: holdover max %.1f µs with, %.1f µs without (%.3fx); rms %.0f / %.0f ns; curve error %.1f%% over %.1f..%.1f °C (%d obs); bound covers %.3f / %.3f",
			seed, with.HoldoverMaxNs/1e3, without.HoldoverMaxNs/1e3, r, with.RMSNs, without.RMSNs,
			100*with.TempCurveErr, with.TempMinC, with.TempMaxC, with.TempSamples, with.HoldoverCovered, without.HoldoverCovered)
		if r > 0.3 {
			t.Errorf("seed %d: holdover error %.3fx the uncompensated one, want at most 0.3x", seed, r)
		}
		if with.RMSNs > without.RMSNs || with.LockS < 0 {
			t.Errorf("seed %d: rms %.0f ns with compensation, %.0f ns without (lock %v s)", seed, with.RMSNs, without.RMSNs, with.LockS)
		}
		if with.TempCurveErr > 0.1 || with.TempMaxC-with.TempMinC < 15 {
			t.Errorf("seed %d: learnt curve off by %.1f%% over %.1f..%.1f °C, want within 10%% over the load's 20 °C",
				seed, 100*with.TempCurveErr, with.TempMinC, with.TempMaxC)
		}
		if without.TempSamples != 0 {
			t.Errorf("seed %d: learnt %d observations without readings", seed, without.TempSamples)
		}
	}
	slices.Sort(ratios)
	slices.Sort(curve)
	t.Logf("holdover ratio: median %.3f, largest %.3f; curve error: median %.1f%%, largest %.1f%%",
		ratios[len(ratios)/2], ratios[len(ratios)-1], 100*curve[len(curve)/2], 100*curve[len(curve)-1])
}

// After a day of a room's daily cycle (±10 °C) with the CPU idle, the
// learnt curve is within 10% of the simulated one over the 20 °C the day
// spans, with the crystal ageing meanwhile.
func TestTempCompLearnsADay(t *testing.T) {
	seeds := []int64{1, 2} // a day each: the 20 seeds' curve is checked above, after 2 h
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		s := DefaultSettings()
		s.Seed = seed
		s.Duration = 24 * time.Hour
		s.TempDailyC = 10
		sum := run(t, s)
		t.Logf("seed %d: curve error %.1f%% over %.1f..%.1f °C (%d obs), rms %.0f ns", seed, 100*sum.TempCurveErr,
			sum.TempMinC, sum.TempMaxC, sum.TempSamples, sum.RMSNs)
		if sum.TempCurveErr > 0.1 || sum.TempMaxC-sum.TempMinC < 18 {
			t.Errorf("seed %d: learnt curve off by %.1f%% over %.1f..%.1f °C, want within 10%% over the day's 20 °C",
				seed, 100*sum.TempCurveErr, sum.TempMinC, sum.TempMaxC)
		}
	}
}

func TestParseTemperatureFlags(t *testing.T) {
	steps := []struct {
		in   string
		want Step
		ok   bool
	}{
		{"10C@2h", Step{SizeC: 10, At: 2 * time.Hour}, true},
		{"-2.5C@30m/10m", Step{SizeC: -2.5, At: 30 * time.Minute, Ramp: 10 * time.Minute}, true},
		{"2ppm@1h", Step{SizePPM: 2, At: time.Hour}, true},
		{"10F@1h", Step{}, false},
		{"C@1h", Step{}, false},
		{"NaNC@1h", Step{}, false},
	}
	for _, tc := range steps {
		got, err := ParseStep(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseStep(%q) = %+v, %v; want %+v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if back, err := ParseStep(got.String()); tc.ok && (err != nil || back != got) {
			t.Errorf("Step %q prints as %q, which parses as %+v, %v", tc.in, got.String(), back, err)
		}
	}
	var ppm, c float64
	f := TempFlag{PPM: &ppm, C: &c}
	if err := f.Set("10C"); err != nil || c != 10 || ppm != 0 {
		t.Errorf("temp-daily 10C: %v °C, %v ppm, %v", c, ppm, err)
	}
	if err := f.Set("1ppm"); err != nil || ppm != 1 {
		t.Errorf("temp-daily 1ppm: %v ppm, %v", ppm, err)
	}
	if err := f.Set("warm"); err == nil {
		t.Error("temp-daily warm accepted")
	}
	loads := []struct {
		in   string
		want Load
		ok   bool
	}{
		{"100%@2h", Load{Share: 1, At: 2 * time.Hour}, true},
		{"25%@0s", Load{Share: 0.25}, true},
		{"150%@1h", Load{}, false},
		{"50%", Load{}, false},
		{"50%@-1h", Load{}, false},
	}
	for _, tc := range loads {
		got, err := ParseLoad(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseLoad(%q) = %+v, %v; want %+v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	s := DefaultSettings()
	s.TempSteps = []Step{{SizeC: 100, At: time.Hour}}
	if err := s.Validate(); err == nil {
		t.Error("a 100 °C step validated")
	}
}

// The learnt curve is kept in the drift file: a restart feeds it forward
// from the start, and goes on learning from where it was.
func TestTempCompKeptInDriftFile(t *testing.T) {
	s := holdoverSettings(1, true)
	s.DriftFile = filepath.Join(t.TempDir(), "drift")
	s.Duration = 2*time.Hour + 10*time.Minute
	s.Outages = nil
	first := run(t, s)
	b, err := os.ReadFile(s.DriftFile)
	if err != nil || !strings.Contains(string(b), "\ntempcomp1 ") {
		t.Fatalf("drift file %q, %v: want the model on its second line", b, err)
	}
	s.CPULoad = []Load{{Share: 1, At: 30 * time.Minute}}
	s.Duration = time.Hour
	second := run(t, s)
	t.Logf("first run: %d observations, curve error %.1f%%; restart: %d, %.1f%%", first.TempSamples, 100*first.TempCurveErr,
		second.TempSamples, 100*second.TempCurveErr)
	if second.TempSamples <= first.TempSamples || second.TempCurveErr > 0.1 {
		t.Errorf("restart: %d observations (first run %d), curve error %.1f%%", second.TempSamples, first.TempSamples, 100*second.TempCurveErr)
	}
}
