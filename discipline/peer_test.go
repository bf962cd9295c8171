package discipline

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"stratum1/ntp"
)

// simClock is a clock in virtual time with a fixed frequency error: its
// offset from true time grows at errPPM plus the correction in force.
type simClock struct {
	now     time.Time     // true time
	off     time.Duration // clock - true
	errPPM  float64
	freqPPM float64
	steps   []time.Duration
	refuse  bool // observe-only: every adjustment fails with ErrNoClockAdjust
}

func (c *simClock) Now() time.Time              { return c.now.Add(c.off) }
func (c *simClock) Frequency() (float64, error) { return c.freqPPM, nil }
func (c *simClock) SetFrequency(p float64) error {
	if c.refuse {
		return ErrNoClockAdjust
	}
	c.freqPPM = p
	return nil
}
func (c *simClock) Step(d time.Duration) error {
	if c.refuse {
		return ErrNoClockAdjust
	}
	c.off += d
	c.steps = append(c.steps, d)
	return nil
}
func (c *simClock) SetLeap(ntp.Leap) error { return nil }
func (c *simClock) SetSync(bool, time.Duration, time.Duration) error {
	if c.refuse {
		return ErrNoClockAdjust
	}
	return nil
}

// advance moves true time on by dt.
func (c *simClock) advance(dt time.Duration) {
	c.off += time.Duration((c.errPPM + c.freqPPM) * 1e-6 * float64(dt))
	c.now = c.now.Add(dt)
}

// sample measures the clock against a source with an offset bias and
// Gaussian noise of standard deviation noise.
func (c *simClock) sample(k Kind, bias, noise time.Duration, rng *rand.Rand) Sample {
	n := time.Duration(rng.NormFloat64() * float64(noise))
	local := c.Now()
	return Sample{Local: local, True: local.Add(-c.off + bias - n), Err: noise, Source: k}
}

// peerRun drives d and clk second by second: a sample from src every
// `every`, Tick every second, check after each second.
type peerRun struct {
	t     *testing.T
	d     *Discipline
	clk   *simClock
	rng   *rand.Rand
	noise time.Duration
	bias  time.Duration // source time - true time
}

func (r *peerRun) run(src Kind, every, dur time.Duration, check func(elapsed time.Duration)) {
	for el := time.Duration(0); el < dur; el += time.Second {
		r.clk.advance(time.Second)
		if src != 0 && el%every == 0 {
			r.d.Sample(r.clk.sample(src, r.bias, r.noise, r.rng))
		}
		r.d.Tick(r.clk.Now())
		if check != nil {
			check(el)
		}
	}
}

func newPeerRun(t *testing.T, clk *simClock, noise time.Duration) *peerRun {
	t.Helper()
	d, err := New(testConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &peerRun{t: t, d: d, clk: clk, rng: rand.New(rand.NewPCG(1, 2)), noise: noise}
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// A 20 ppm clock steered by peers every 64 s with 1 ms of noise converges
// to within a few milliseconds and stays there, without a step, and the
// discipline never publishes stratum 1 for it.
func TestPeersConverge(t *testing.T) {
	for seed := range uint64(3) {
		clk := &simClock{now: t0, errPPM: 20, off: 40 * time.Millisecond}
		r := newPeerRun(t, clk, time.Millisecond)
		r.rng = rand.New(rand.NewPCG(seed, 7))
		var worst, early time.Duration
		r.run(Peer, 64*time.Second, 8*time.Hour, func(el time.Duration) {
			if ss := r.d.ServerState(); ss.Synchronised() {
				t.Fatalf("seed %d at %v: published %+v while steering to peers", seed, el, ss)
			}
			switch {
			case el >= time.Hour:
				worst = max(worst, abs(clk.off))
			case el >= 15*time.Minute:
				early = max(early, abs(clk.off))
			}
		})
		st := r.d.Stats()
		// The oscillator's frequency as the loop knows it: the correction
		// in force less the part that slews the offset out.
		freq := r.d.freqPPM - r.d.est.FrequencyPPM()
		t.Logf("seed %d: worst 15min-1h %v, after 1h %v, frequency %.3f ppm, est %v", seed, early, worst, freq, st.EstError)
		if worst > 3*time.Millisecond || early > 5*time.Millisecond {
			t.Errorf("seed %d: clock error up to %v after 15 min, %v after 1 h, want under 5ms and 3ms", seed, early, worst)
		}
		if len(clk.steps) != 0 {
			t.Errorf("seed %d: steps %v for a 40 ms offset", seed, clk.steps)
		}
		if math.Abs(freq+20) > 0.3 {
			t.Errorf("seed %d: frequency %.3f ppm, want -20", seed, freq)
		}
		if st.State != Locked || st.Source != Peer || st.EstError < time.Millisecond/2 || st.EstError > 5*time.Millisecond {
			t.Errorf("seed %d: state %v source %v est error %v, want LOCKED to PEER with about 1ms", seed, st.State, st.Source, st.EstError)
		}
	}
}

// A Pi that boots 4 h off with no GPS is stepped once by the peers, then
// slewed.
func TestPeersStepAtStart(t *testing.T) {
	clk := &simClock{now: t0, errPPM: -15, off: -4 * time.Hour}
	r := newPeerRun(t, clk, time.Millisecond)
	// iburst: a few samples 2 s apart, then the poll interval.
	r.run(Peer, 2*time.Second, 4*time.Second, nil)
	if len(clk.steps) != 1 {
		t.Fatalf("steps %v after the first samples, want one", clk.steps)
	}
	// The peers' clock filters still hold samples from before the step
	// for a while: their selection goes on showing the old offset.
	for range 6 {
		clk.advance(2 * time.Second)
		if err := r.d.Sample(clk.sample(Peer, 4*time.Hour, time.Millisecond, r.rng)); err == nil {
			t.Error("a selection from before the step was accepted")
		}
		r.d.Tick(clk.Now())
	}
	r.run(Peer, 2*time.Second, 16*time.Second, nil)
	r.run(Peer, 64*time.Second, 2*time.Hour, nil)
	if len(clk.steps) != 1 || abs(clk.steps[0]-4*time.Hour) > 10*time.Millisecond {
		t.Fatalf("steps %v, want one of about +4h", clk.steps)
	}
	if abs(clk.off) > 3*time.Millisecond || r.d.State() != Locked {
		t.Errorf("after 2h: offset %v state %v", clk.off, r.d.State())
	}
}

// Samples in a peers' stale interval hold over; peers lost for longer
// than the holdover limit make the loop unusable, as with GPS.
func TestPeersHoldover(t *testing.T) {
	clk := &simClock{now: t0, errPPM: 5}
	r := newPeerRun(t, clk, time.Millisecond)
	r.run(Peer, 256*time.Second, time.Hour, nil)
	if r.d.State() != Locked {
		t.Fatalf("state %v, want LOCKED", r.d.State())
	}
	r.run(0, 0, 10*time.Minute, nil) // not yet stale: 4 intervals of 256 s
	if r.d.State() != Locked {
		t.Errorf("state %v 10 min after the last peer sample, want LOCKED", r.d.State())
	}
	r.run(0, 0, 20*time.Minute, nil)
	if r.d.State() != Holdover {
		t.Errorf("state %v 30 min after the last peer sample, want HOLDOVER", r.d.State())
	}
	r.run(0, 0, r.d.cfg.HoldoverLimit, nil)
	if r.d.State() != Unusable {
		t.Errorf("state %v past the holdover limit, want UNUSABLE", r.d.State())
	}
}

// PPS, then peers (GPS lost past the holdover limit), then PPS again:
// the loop follows each without a step, and publishes stratum 1 only
// while it follows the pulses.
func TestPPSPeersPPSWithoutSteps(t *testing.T) {
	clk := &simClock{now: t0, errPPM: 25, off: 20 * time.Millisecond}
	r := newPeerRun(t, clk, time.Microsecond)
	r.run(PPS, time.Second, 20*time.Minute, nil)
	if st := r.d.Stats(); st.State != Locked || abs(clk.off) > 10*time.Microsecond {
		t.Fatalf("on PPS: state %v offset %v", st.State, clk.off)
	}
	if ss := r.d.ServerState(); ss.Stratum != 1 || ss.RefID != ntp.RefPPS {
		t.Fatalf("on PPS: published %+v", ss)
	}
	// The pulses stop; the peers, 3 ms off through an asymmetric path,
	// take over after a while.
	r.run(0, 0, 30*time.Second, nil)
	if r.d.State() != Holdover {
		t.Fatalf("state %v without pulses, want HOLDOVER", r.d.State())
	}
	r.noise, r.bias = time.Millisecond, 3*time.Millisecond
	r.run(Peer, 64*time.Second, 3*time.Hour, func(el time.Duration) {
		if el > 0 && r.d.ServerState().Synchronised() {
			t.Fatalf("at %v on peers: published %+v", el, r.d.ServerState())
		}
	})
	if st := r.d.Stats(); st.State != Locked || st.Source != Peer || abs(clk.off-r.bias) > 3*time.Millisecond {
		t.Fatalf("on peers: state %v source %v offset %v, want about %v", st.State, st.Source, clk.off, r.bias)
	}
	// The pulses come back; the peers go on answering every 64 s, and
	// are ignored while the pulses are fresh.
	r.noise, r.bias = time.Microsecond, 0
	var maxFreqStep float64
	prev := clk.freqPPM
	for range 10 * 60 {
		clk.advance(time.Second)
		if clk.now.Unix()%64 == 0 {
			r.d.Sample(clk.sample(Peer, 3*time.Millisecond, time.Millisecond, r.rng))
		}
		r.d.Sample(clk.sample(PPS, 0, time.Microsecond, r.rng))
		r.d.Tick(clk.Now())
		maxFreqStep = max(maxFreqStep, math.Abs(clk.freqPPM-prev))
		prev = clk.freqPPM
	}
	st := r.d.Stats()
	if len(clk.steps) != 0 {
		t.Errorf("steps %v, want none", clk.steps)
	}
	if st.State != Locked || st.Source != PPS || abs(clk.off) > 10*time.Microsecond {
		t.Errorf("back on PPS: state %v source %v offset %v", st.State, st.Source, clk.off)
	}
	if ss := r.d.ServerState(); ss.Stratum != 1 || ss.RefID != ntp.RefPPS {
		t.Errorf("back on PPS: published %+v", ss)
	}
	t.Logf("largest frequency change per second after the pulses returned: %.1f ppm", maxFreqStep)
}

func TestPeerSampleValidation(t *testing.T) {
	d, _ := New(testConfig(), &fakeClock{}, nil)
	if err := d.Sample(Sample{Local: t0, True: t0, Source: Peer + 1}); err == nil {
		t.Error("unknown source accepted")
	}
	if Peer.String() != "PEER" {
		t.Errorf("Peer.String() = %q", Peer.String())
	}
}
