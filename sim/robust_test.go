package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A real Pi's pulses come late now and then (interrupt latency on a busy
// SoC) and go missing (a loose wire, a busy capture); the Gaussian jitter
// alone has neither. With 1% of the pulses 200 µs late on average and 5%
// lost, the loop must reject the late ones, ride through the missing ones,
// and keep its error close to the clean run's. The faulty run sees the
// same oscillator and jitter as the clean one (the faults draw from their
// own generator), so the ratio of their RMS is the faults' cost; the
// drift detector's false alarms, each a 5 min boost worth about 16 ns of
// a 4 h run's RMS, come about once in 6 h with or without faults, and at
// slightly different times in the two runs: eight seeds see both.
func TestRobustOutliersAndDrops(t *testing.T) {
	const (
		jitter    = time.Microsecond
		maxAfter  = 3 * jitter // error allowed in the seconds after an outlier
		maxAcross = jitter     // error change allowed across a missing pulse
		// The largest error comes at acquisition, whatever the faults;
		// from settle after lock on, the faults must not set it. (Lock
		// is declared with the error still pulling in by µs a second, so
		// the change across a missing pulse is checked from then too.)
		settle     = 5 * 60
		maxSettled = 3 * jitter
	)
	for seed := int64(1); seed <= 8; seed++ {
		clean := DefaultSettings()
		clean.Seed, clean.Duration, clean.PPSJitter = seed, 4*time.Hour, jitter
		faulty := clean
		faulty.PPSOutliers = Outliers{Rate: 0.01, Size: 200 * time.Microsecond}
		faulty.DropPulses = 0.05

		cs := run(t, clean)
		fs, tr, err := RunVirtual(context.Background(), faulty, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fs.LockS < 0 || cs.LockS < 0 {
			t.Fatalf("seed %d: no lock (clean %v, faulty %v)", seed, cs.LockS, fs.LockS)
		}
		lock := int(fs.LockS)
		var outliers, late, dropped int
		var afterMax, acrossMax, settledMax float64
		for k := lock + settle; k < len(tr.ErrNs); k++ {
			settledMax = math.Max(settledMax, math.Abs(tr.ErrNs[k]))
		}
		for k := lock + 1; k < len(tr.ErrNs)-10; k++ {
			if tr.LateNs[k] > 0 {
				outliers++
				if tr.LateNs[k] > 10*float64(jitter) {
					late++
				}
				for j := 1; j <= 10; j++ {
					afterMax = math.Max(afterMax, math.Abs(tr.ErrNs[k+j]))
				}
			}
			if k >= lock+settle && tr.Dropped[k] && !tr.Dropped[k-1] && !tr.Dropped[k+1] {
				dropped++
				acrossMax = math.Max(acrossMax, math.Abs(tr.ErrNs[k+1]-tr.ErrNs[k-1]))
			}
		}
		t.Logf("seed %d: clean rms %.0f ns max %.0f ns; faulty rms %.0f ns max %.0f ns (%.0f ns from 5 min after lock), %d outliers (%d over 10 µs), %d rejected, %d missed; max error after an outlier %.0f ns, max change across %d single missing pulses %.0f ns",
			seed, cs.RMSNs, cs.MaxNs, fs.RMSNs, fs.MaxNs, settledMax, outliers, late, fs.Rejected, fs.MissedPulses, afterMax, dropped, acrossMax)
		if fs.RMSNs > 1.2*cs.RMSNs {
			t.Errorf("seed %d: RMS %.0f ns with faults, %.0f ns clean: more than 1.2×", seed, fs.RMSNs, cs.RMSNs)
		}
		if settledMax > float64(maxSettled) {
			t.Errorf("seed %d: error %.0f ns from 5 min after lock, want at most %v", seed, settledMax, maxSettled)
		}
		if afterMax > float64(maxAfter) {
			t.Errorf("seed %d: error %.0f ns within 10 s of an outlier, want at most %v", seed, afterMax, maxAfter)
		}
		if acrossMax > float64(maxAcross) {
			t.Errorf("seed %d: the error moved %.0f ns across a single missing pulse, want at most %v", seed, acrossMax, maxAcross)
		}
		// Every pulse more than 10 jitters late is an outlier to the loop;
		// none is taken as a phase jump, and no holdover is entered.
		if fs.Rejected < uint64(late) || fs.Rejected > uint64(outliers)+5 {
			t.Errorf("seed %d: %d samples rejected, want between the %d outliers over 10 µs and the %d outliers", seed, fs.Rejected, late, outliers)
		}
		// Holdover comes after HoldoverMissedPulses pulses in a row
		// without a usable one, never for fewer: a pulse late by more
		// than 10 jitters is unusable, one late by less may be.
		var outages, maybe int
		limit := DisciplineConfig(faulty).HoldoverMissedPulses
		var lost, lostOrLate int
		for k := lock + 1; k < len(tr.Dropped); k++ {
			if tr.Dropped[k] || tr.LateNs[k] > 10*float64(jitter) {
				if lost++; lost == limit {
					outages++
				}
			} else {
				lost = 0
			}
			if tr.Dropped[k] || tr.LateNs[k] > 0 {
				if lostOrLate++; lostOrLate == limit {
					maybe++
				}
			} else {
				lostOrLate = 0
			}
		}
		if fs.HoldoverEntries < uint64(outages) || fs.HoldoverEntries > uint64(maybe) {
			t.Errorf("seed %d: held over %d times, want between the %d and %d runs of %d unusable pulses", seed, fs.HoldoverEntries, outages, maybe, limit)
		}
		// The rejected pulses came: they are counted rejected, not missing.
		drops := 0
		for k := lock; k < len(tr.Dropped); k++ {
			if tr.Dropped[k] {
				drops++
			}
		}
		if d := int(fs.MissedPulses) - drops; d < -5 || d > 5 {
			t.Errorf("seed %d: %d pulses counted missing, %d lost after lock", seed, fs.MissedPulses, drops)
		}
	}
}

func TestParseOutliers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Outliers
		ok   bool
	}{
		{"1%@200us", Outliers{0.01, 200 * time.Microsecond}, true},
		{"0.5%@1ms", Outliers{0.005, time.Millisecond}, true},
		{"0%", Outliers{}, true},
		{"", Outliers{}, true},
		{"1%", Outliers{}, false},
		{"1@200us", Outliers{}, false},
		{"200%@1us", Outliers{}, false},
		{"1%@-1us", Outliers{}, false},
		{"1%@1s", Outliers{}, false},
		{"x%@1us", Outliers{}, false},
	} {
		got, err := ParseOutliers(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseOutliers(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && tc.want.Rate > 0 {
			if back, err := ParseOutliers(got.String()); err != nil || back != got {
				t.Errorf("%q: String %q parses to %v, %v", tc.in, got.String(), back, err)
			}
		}
	}
}

// The late pulses come at the rate asked, late by Size on average, and a
// run without them draws nothing from the generator (so that its figures
// stay as they were).
func TestOutliersLatency(t *testing.T) {
	pcg := rand.NewPCG(1, 2)
	rng := rand.New(pcg)
	before := *pcg
	if got := (Outliers{}).latency(rng); got != 0 || *pcg != before {
		t.Fatalf("no outliers: latency %v, generator moved %v", got, *pcg != before)
	}
	o := Outliers{Rate: 0.02, Size: 200 * time.Microsecond}
	const n = 200000
	var late int
	var sum time.Duration
	for range n {
		if l := o.latency(rng); l > 0 {
			late++
			sum += l
		} else if l < 0 {
			t.Fatalf("negative latency %v", l)
		}
	}
	if r := float64(late) / n; math.Abs(r-o.Rate) > 0.002 {
		t.Errorf("rate %.4f, want %.4f", r, o.Rate)
	}
	if mean := sum / time.Duration(late); mean < 180*time.Microsecond || mean > 220*time.Microsecond {
		t.Errorf("mean latency %v, want about %v", mean, o.Size)
	}
}
