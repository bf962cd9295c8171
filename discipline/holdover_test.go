package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// lockedToPPS returns a run locked to 1 µs pulses for 10 min (enough for
// the tracker, too short for a measured wander: the configured one holds).
func lockedToPPS(t *testing.T, cfg Config) *peerRun {
	t.Helper()
	clk := &simClock{now: t0, errPPM: 12}
	d, err := New(cfg, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &peerRun{t: t, d: d, clk: clk, rng: rand.New(rand.NewPCG(3, 4)), noise: time.Microsecond}
	r.run(PPS, time.Second, 10*time.Minute, nil)
	if st := d.Stats(); st.State != Locked {
		t.Fatalf("state %v after 10 min of pulses, want LOCKED", st.State)
	}
	return r
}

// In holdover the published bound is the estimate at the last pulse grown
// by the frequency's uncertainty (two sigma) and max_clock_error_ppm every
// second since, as chrony grows its root dispersion: the error a
// temperature change during the outage causes is no part of any model
// made before it. The API's estimate and what a client is told are the
// same number. (It once stayed at the model's microseconds while a 2 ppm
// change made the real error milliseconds.)
func TestHoldoverBound(t *testing.T) {
	cfg := testConfig()
	cfg.MaxClockError = 1.5
	r := lockedToPPS(t, cfg)
	ss := r.d.ServerState()
	base, rate, lost := ss.RootDispersion, ss.DispersionRate, ss.Updated
	if !lost.Equal(r.clk.Now()) || !ss.RefTime.Equal(lost) {
		t.Fatalf("bound fixed at %v (reference %v), want the last pulse's reading %v", lost, ss.RefTime, r.clk.Now())
	}
	sy := r.d.Stats().SkewPPM * 1e-6
	if want := 2*sy + 1.5e-6; math.Abs(rate-want) > 1e-12 {
		t.Fatalf("dispersion rate %.4g, want 2·skew + max clock error = %.4g", rate, want)
	}
	if base <= 0 || base > 5*time.Microsecond {
		t.Fatalf("bound at the last pulse %v, want the locked loop's sub-microsecond estimate", base)
	}
	r.run(0, 0, 6*time.Second, nil)
	if st := r.d.Stats(); st.State != Holdover {
		t.Fatalf("state %v after 6 s without pulses, want HOLDOVER", st.State)
	}
	for _, at := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour} {
		r.run(0, 0, at-r.clk.Now().Sub(lost), nil)
		now := r.clk.Now()
		want := base + time.Duration(rate*float64(now.Sub(lost)))
		st := r.d.Stats()
		served := r.d.ServerState().DispersionAt(now)
		t.Logf("after %v: bound %v", at, served)
		if abs(st.EstError-want) > time.Microsecond || abs(served-st.EstError) > 10*time.Nanosecond {
			t.Errorf("after %v: estimate %v, served %v; want both %v", at, st.EstError, served, want)
		}
		if lo := time.Duration(1.5e-6 * float64(now.Sub(lost))); served < lo {
			t.Errorf("after %v: served %v, below max_clock_error times the holdover, %v", at, served, lo)
		}
	}
}

// Missed pulses: fewer than holdover_missed_pulses in a row are missed
// samples, counted, not a holdover, and NMEA does not take over meanwhile;
// that many are an outage.
func TestMissedPulsesTolerated(t *testing.T) {
	cfg := testConfig()
	cfg.HoldoverMissedPulses = 4
	r := lockedToPPS(t, cfg)
	// Gaps of 1 to 3 missing pulses, NMEA arriving all along.
	for gap := 1; gap <= 3; gap++ {
		r.run(NMEA, time.Second, time.Duration(gap)*time.Second, func(time.Duration) {
			if st := r.d.Stats(); st.State != Locked || st.Source != PPS {
				t.Fatalf("gap of %d pulses: state %v source %v, want LOCKED to PPS", gap, st.State, st.Source)
			}
		})
		r.run(PPS, time.Second, 5*time.Second, nil)
	}
	st := r.d.Stats()
	if st.MissedPulses != 6 || st.HoldoverEntries != 0 || st.State != Locked {
		t.Fatalf("after gaps of 1, 2 and 3: %d missed, %d holdovers, %v; want 6, 0, LOCKED", st.MissedPulses, st.HoldoverEntries, st.State)
	}
	r.run(0, 0, 5*time.Second, nil)
	st = r.d.Stats()
	if st.State != Holdover || st.HoldoverEntries != 1 || st.MissedPulses != 10 {
		t.Fatalf("after 5 missing: %v, %d holdovers, %d missed; want HOLDOVER, 1, 10", st.State, st.HoldoverEntries, st.MissedPulses)
	}
	r.run(0, 0, time.Minute, nil)
	if st := r.d.Stats(); st.MissedPulses != 10 {
		t.Errorf("missed pulses counted during holdover: %d", st.MissedPulses)
	}
}

// During holdover NMEA is ignored while the holdover error is below
// nmea_error, and steers as soon as it is above: with an honest estimate
// that is later than before, but never while the held frequency is the
// better clock.
func TestHoldoverHandsOverToNMEA(t *testing.T) {
	cfg := testConfig()
	cfg.NMEAError = 100 * time.Microsecond
	cfg.Wander = 0.01 // 1e-8/√s: the estimate reaches 100 µs within minutes
	r := lockedToPPS(t, cfg)
	var crossed, took time.Duration
	r.run(0, 0, 6*time.Second, nil) // no sample for 7 s: holdover
	r.run(NMEA, time.Second, time.Hour, func(el time.Duration) {
		st := r.d.Stats()
		switch {
		case took == 0 && st.Source == NMEA:
			took = el
		case crossed == 0 && st.State == Holdover && st.EstError >= cfg.NMEAError:
			crossed = el
		case took == 0 && st.State != Holdover:
			t.Fatalf("at %v: state %v source %v, want HOLDOVER on PPS", el, st.State, st.Source)
		}
	})
	t.Logf("estimate crossed nmea_error after %v, NMEA taken after %v", crossed, took)
	if crossed < time.Minute || took < crossed || took > crossed+2*time.Second {
		t.Errorf("estimate crossed nmea_error at %v, NMEA taken at %v; want NMEA within 2 s of the crossing", crossed, took)
	}
}
