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

// In holdover the published estimate is two standard deviations of the
// holdover model: the phase uncertainty at the loss, the held frequency's
// uncertainty times t, and the wander's q·t³/3, as variances. No drift
// term: the quiet model's drift noise once made it 8× the real error
// within the hour.
func TestHoldoverEstimate(t *testing.T) {
	r := lockedToPPS(t, testConfig())
	sigma0 := r.d.Stats().EstError.Seconds()
	lost := r.clk.Now().Add(-time.Second) // the last sample's reading
	r.run(0, 0, 3*time.Second, nil)
	st := r.d.Stats()
	if st.State != Holdover {
		t.Fatalf("state %v without pulses, want HOLDOVER", st.State)
	}
	sy := st.SkewPPM * 1e-6 // the tracker's, at the loss
	q := math.Pow(r.d.cfg.Wander*1e-6, 2)
	if sy <= 0 || sy > 20e-9 {
		t.Fatalf("held frequency uncertain by %.2g, want a few ppb", sy)
	}
	for _, at := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour} {
		r.run(0, 0, at-r.clk.Now().Sub(lost), nil)
		el := r.clk.Now().Sub(lost).Seconds()
		want := holdoverSigmas * math.Sqrt(sigma0*sigma0+sy*sy*el*el+q*el*el*el/3)
		got := r.d.Stats().EstError.Seconds()
		t.Logf("after %v: estimate %.2f µs, model %.2f µs", at, got*1e6, want*1e6)
		if math.Abs(got-want) > 0.05*want {
			t.Errorf("after %v: estimate %.2f µs, want %.2f µs", at, got*1e6, want*1e6)
		}
		ss := r.d.ServerState().Load()
		if ss.RootDispersion < r.d.Stats().EstError {
			t.Errorf("after %v: root dispersion %v below the estimate", at, ss.RootDispersion)
		}
		// What a client is told a second later: the estimate grown at
		// the discipline's own rate, not RFC 5905's 15 ppm since the
		// last pulse (54 ms after an hour, a thousand times the error).
		served := ss.DispersionAt(r.clk.Now().Add(time.Second))
		if lim := ss.RootDispersion + 2*time.Microsecond; served > lim {
			t.Errorf("after %v: served root dispersion %v a second on, want at most %v", at, served, lim)
		}
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
	r.run(0, 0, 3*time.Second, nil) // no sample for 4 s: holdover
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
