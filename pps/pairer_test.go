package pps

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var simStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

type runResult struct {
	samples   int
	wrong     int           // samples whose UTC or local time is off
	maxErr    time.Duration // largest error of a correct sample's local time
	firstGood int           // index of the second from which all samples were right
	pulses    int           // true marking pulses generated
	missing   int           // true pulses not generated
}

// runSim feeds d of simulated input to p and checks every sample against
// the simulator's truth. trust, if not nil, gives the clock-error bound to
// tell the pairer at each epoch.
func runSim(t *testing.T, sc SimConfig, p *Pairer, d time.Duration, trust func(el time.Duration) time.Duration) runResult {
	t.Helper()
	sim := NewSim(sc)
	p.SetSource("sim", BackendSimulated, time.Microsecond)
	var r runResult
	tol := 10*sc.Jitter + time.Microsecond
	lastTruth := sc.Start.Add(-time.Second)
	check := func(s Sample, idx int) {
		r.samples++
		want := sim.Local(s.UTC).Add(sc.EdgeDelay - p.cfg.delay())
		if e := s.Local.Sub(want).Abs(); e > tol {
			r.wrong++
			r.firstGood = idx + 1
			if r.wrong < 4 {
				t.Logf("wrong sample at second %d: UTC %v local %v want local %v", idx, s.UTC.Format(time.TimeOnly), s.Local.Format("15:04:05.000000"), want.Format("15:04:05.000000"))
			}
			return
		} else if e > r.maxErr {
			r.maxErr = e
		}
		if s.Backend != BackendSimulated || s.Err <= 0 {
			t.Fatalf("sample %+v lacks backend or error estimate", s)
		}
	}
	for {
		ev := sim.Next()
		el := ev.At.Sub(sim.Local(sc.Start))
		if el > d {
			break
		}
		idx := int(el / time.Second)
		if ev.IsEdge {
			if !ev.Truth.IsZero() {
				for n := lastTruth.Add(time.Second); n.Before(ev.Truth); n = n.Add(time.Second) {
					r.missing++
				}
				lastTruth = ev.Truth
				r.pulses++
			}
			if s, ok := p.Edge(ev.Edge); ok {
				check(s, idx)
			}
			continue
		}
		if trust != nil {
			p.SetClockError(trust(el))
		}
		if s, ok := p.Second(ev.Second); ok {
			check(s, idx)
		}
	}
	return r
}

func TestPairerSimulatedReceivers(t *testing.T) {
	const hours = 2 * time.Hour
	n := int(hours / time.Second)
	trusted := func(time.Duration) time.Duration { return 50 * time.Millisecond }
	tests := []struct {
		name       string
		sim        SimConfig
		cfg        func(*Config)
		trust      func(time.Duration) time.Duration
		minSamples int
		wantK      int
		verified   bool
		settle     int // seconds allowed to be wrong at the start
	}{
		{
			name:       "clean receiver",
			sim:        SimConfig{NMEALatency: 150 * time.Millisecond, NMEAJitter: 20 * time.Millisecond, Jitter: 2 * time.Microsecond, ClockOffset: 37 * time.Second},
			minSamples: n - 20,
		},
		{
			name: "noisy input",
			sim: SimConfig{NMEALatency: 400 * time.Millisecond, NMEAJitter: 50 * time.Millisecond, Jitter: 5 * time.Microsecond,
				FreqPPM: 30, ClockOffset: -3 * time.Hour, MissRate: 0.01, DoubleRate: 0.02, GlitchRate: 0.02, NMEAMissRate: 0.01},
			minSamples: n * 9 / 10,
		},
		{
			name:       "latency straddling the next edge",
			sim:        SimConfig{NMEALatency: 980 * time.Millisecond, NMEAJitter: 15 * time.Millisecond, Jitter: 2 * time.Microsecond},
			minSamples: n - 60,
		},
		{
			name:       "sentences before their edge, trusted clock",
			sim:        SimConfig{NMEALatency: -300 * time.Millisecond, NMEAJitter: 10 * time.Millisecond, Jitter: 2 * time.Microsecond, ClockOffset: 40 * time.Millisecond},
			trust:      trusted,
			minSamples: n - 30,
			wantK:      1,
			verified:   true,
		},
		{
			name:       "labels the next second, trusted clock",
			sim:        SimConfig{NMEALatency: 100 * time.Millisecond, NMEAJitter: 10 * time.Millisecond, LabelOffset: 1, ClockOffset: -80 * time.Millisecond},
			trust:      trusted,
			minSamples: n - 30,
			wantK:      1,
			verified:   true,
		},
		{
			name: "labels the next second, clock trusted after 10 minutes",
			sim:  SimConfig{NMEALatency: 100 * time.Millisecond, NMEAJitter: 10 * time.Millisecond, LabelOffset: 1, ClockOffset: 20 * time.Millisecond},
			trust: func(el time.Duration) time.Duration {
				if el < 10*time.Minute {
					return 0
				}
				return 100 * time.Millisecond
			},
			minSamples: n - 30,
			wantK:      1,
			verified:   true,
			settle:     600 + 10,
		},
		{
			name:       "inverted pulse, polarity auto",
			sim:        SimConfig{Inverted: true, Capture: PolarityAuto, NMEALatency: 200 * time.Millisecond, PulseWidth: 200 * time.Millisecond, Jitter: time.Microsecond},
			cfg:        func(c *Config) { c.Polarity = PolarityAuto },
			minSamples: n - 30,
		},
		{
			name:       "clock stepped 0.7 s by someone else",
			sim:        SimConfig{NMEALatency: 250 * time.Millisecond, NMEAJitter: 10 * time.Millisecond, Jitter: time.Microsecond, StepAt: 30*time.Minute + 300*time.Millisecond, Step: 700 * time.Millisecond},
			minSamples: n - 30,
		},
		{
			name:       "cable delay",
			sim:        SimConfig{NMEALatency: 100 * time.Millisecond, EdgeDelay: 180 * time.Nanosecond},
			cfg:        func(c *Config) { c.CableDelayNs = 150; c.OffsetNs = 30 },
			minSamples: n - 20,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.sim.Start, tc.sim.Seed = simStart, 7
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p := NewPairer(cfg, nil)
			r := runSim(t, tc.sim, p, hours, tc.trust)
			if r.samples < tc.minSamples {
				t.Errorf("%d samples from %d pulses, want at least %d; counters %+v", r.samples, r.pulses, tc.minSamples, p.Counters())
			}
			if r.wrong > 0 && r.firstGood > tc.settle {
				t.Errorf("%d wrong samples, the last at second %d (allowed only before %d)", r.wrong, r.firstGood-1, tc.settle)
			}
			if tc.settle > 0 && r.wrong == 0 {
				t.Errorf("no wrong samples before the clock was trusted: the test does not exercise the correction")
			}
			k, verified := p.LabelOffset()
			if k != tc.wantK || verified != tc.verified {
				t.Errorf("LabelOffset = %d, %v; want %d, %v", k, verified, tc.wantK, tc.verified)
			}
			c := p.Counters()
			if got := int(c.Missed); got < r.missing*9/10 || got > r.missing+2 {
				t.Errorf("counted %d missed pulses, simulator dropped %d", got, r.missing)
			}
			if tc.sim.DoubleRate > 0 && c.Rejected[ReasonDouble] == 0 {
				t.Errorf("no double edges rejected: %v", c.Rejected)
			}
			if tc.sim.GlitchRate > 0 && c.Rejected[ReasonGlitch] == 0 {
				t.Errorf("no glitches rejected: %v", c.Rejected)
			}
			t.Logf("%d samples, max error %v, counters %+v", r.samples, r.maxErr, c)
		})
	}
}

func TestPairerJitterEstimate(t *testing.T) {
	for _, sigma := range []time.Duration{time.Microsecond, 20 * time.Microsecond} {
		sc := SimConfig{Start: simStart, Seed: 3, NMEALatency: 200 * time.Millisecond, Jitter: sigma, FreqPPM: -12}
		p := NewPairer(DefaultConfig(), nil)
		runSim(t, sc, p, 10*time.Minute, nil)
		now := NewSim(sc).Local(simStart.Add(10 * time.Minute))
		got := p.Jitter(now)
		if got < sigma*7/10 || got > sigma*13/10 {
			t.Errorf("jitter %v for simulated σ %v", got, sigma)
		}
		if later := p.Jitter(now.Add(2 * time.Minute)); later != 0 {
			t.Errorf("jitter %v two minutes after the last pulse, want 0 (window is one minute)", later)
		}
	}
}

func TestPairerNoFixAndStates(t *testing.T) {
	sc := SimConfig{Start: simStart, Seed: 5, NMEALatency: 300 * time.Millisecond, NoFixFor: 10 * time.Minute}
	p := NewPairer(DefaultConfig(), nil)
	if got := p.State(simStart); got != StateNoDevice {
		t.Errorf("state before SetSource = %q", got)
	}
	sim := NewSim(sc)
	p.SetSource("sim", BackendSimulated, time.Microsecond)
	if got := p.State(simStart); got != StateNoPulses {
		t.Errorf("state with no pulses = %q", got)
	}
	var samples int
	for {
		ev := sim.Next()
		if ev.At.After(simStart.Add(20 * time.Minute)) {
			break
		}
		var ok bool
		var s Sample
		if ev.IsEdge {
			s, ok = p.Edge(ev.Edge)
		} else {
			s, ok = p.Second(ev.Second)
		}
		if ok {
			if s.UTC.Before(simStart.Add(10 * time.Minute)) {
				t.Fatalf("sample %v before the fix", s.UTC)
			}
			samples++
		}
		if ev.At.Equal(simStart.Add(5*time.Minute)) || (ev.IsEdge && ev.Truth.Equal(simStart.Add(5*time.Minute))) {
			if got := p.State(ev.At.Add(time.Millisecond)); got != StateNoFix {
				t.Errorf("state without fix = %q", got)
			}
		}
	}
	if samples < 590 {
		t.Errorf("%d samples in the 10 minutes with a fix", samples)
	}
	c := p.Counters()
	if nf := c.Rejected[ReasonNoFix]; nf < 590 || nf > 600 {
		t.Errorf("%d pulses rejected for no fix, want about 600", nf)
	}
	end := simStart.Add(20 * time.Minute)
	st := p.Status(end)
	if st.State != StateLocked || st.Backend != BackendSimulated || st.Device != "sim" || st.Counters.Pulses != c.Pulses || st.Counters.Rejected[ReasonNoFix] != c.Rejected[ReasonNoFix] ||
		st.Counters.Samples != c.Samples || st.Precision != time.Microsecond || st.LabelOffset != 0 || st.LabelVerified {
		t.Errorf("status %+v, counters %+v", st, c)
	}
	if st = p.Status(end.Add(10 * time.Second)); st.State != StateNoPulses {
		t.Errorf("state 10 s after the last pulse = %q", st.State)
	}
	p.SetSource("", "", 0)
	if got := p.State(end); got != StateNoDevice {
		t.Errorf("state after the device went away = %q", got)
	}
}

func TestPairerIntervalCheck(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec float64) Edge { return Edge{Local: t0.Add(time.Duration(sec * float64(time.Second)))} }
	tests := []struct {
		name     string
		edges    []float64
		accepted []bool
		missed   uint64
		reasons  map[string]uint64
	}{
		{"regular", []float64{0, 1, 2, 3}, []bool{false, true, true, true}, 0, map[string]uint64{ReasonResync: 1}},
		{"double edge", []float64{0, 1, 1.004, 2}, []bool{false, true, false, true}, 0, map[string]uint64{ReasonResync: 1, ReasonDouble: 1}},
		{"glitch between pulses", []float64{0, 1, 1.4, 2, 3}, []bool{false, true, false, true, true}, 0, map[string]uint64{ReasonResync: 1, ReasonGlitch: 1}},
		{"missing pulses", []float64{0, 1, 4, 5}, []bool{false, true, true, true}, 2, map[string]uint64{ReasonResync: 1}},
		{"clock stepped forward 0.3 s", []float64{0, 1, 2.3, 3.3, 4.3}, []bool{false, true, false, true, true}, 0, map[string]uint64{ReasonResync: 1, ReasonGlitch: 1}},
		{"clock stepped back 2 s", []float64{0, 1, 0, 1, 2}, []bool{false, true, false, true, true}, 0, map[string]uint64{ReasonResync: 2}},
		{"long outage", []float64{0, 1, 500.2, 501.2}, []bool{false, true, false, true}, 0, map[string]uint64{ReasonResync: 2}},
		{"off-frequency clock within tolerance", []float64{0, 1.002, 2.004, 3.006}, []bool{false, true, true, true}, 0, map[string]uint64{ReasonResync: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPairer(DefaultConfig(), nil)
			for i, s := range tc.edges {
				if got := p.checkInterval(at(s)); got != tc.accepted[i] {
					t.Errorf("edge %d at %v s: accepted %v, want %v", i, s, got, tc.accepted[i])
				}
			}
			if p.c.Missed != tc.missed {
				t.Errorf("missed %d, want %d", p.c.Missed, tc.missed)
			}
			for r, n := range tc.reasons {
				if p.c.Rejected[r] != n {
					t.Errorf("rejected[%s] = %d, want %d (all: %v)", r, p.c.Rejected[r], n, p.c.Rejected)
				}
			}
		})
	}
}

func TestPhaseWindowWraps(t *testing.T) {
	var w phaseWindow
	// Arrivals straddle the edge: 980 ms, then 10 ms after the next edge.
	for i := range 16 {
		if i%2 == 0 {
			w.add(980 * time.Millisecond)
		} else {
			w.add(1010 * time.Millisecond)
		}
	}
	if w.est < 970*time.Millisecond && w.est > 20*time.Millisecond {
		t.Errorf("estimate %v: not near the wrap", w.est)
	}
	if w.spread > 60*time.Millisecond {
		t.Errorf("spread %v: wrapped values counted as far apart", w.spread)
	}
	for _, tc := range []struct{ d, ref, want time.Duration }{
		{10 * time.Millisecond, 990 * time.Millisecond, 1010 * time.Millisecond},
		{990 * time.Millisecond, 10 * time.Millisecond, -10 * time.Millisecond},
		{400 * time.Millisecond, 500 * time.Millisecond, 400 * time.Millisecond},
	} {
		if got := unwrapNear(tc.d, tc.ref); got != tc.want {
			t.Errorf("unwrapNear(%v, %v) = %v, want %v", tc.d, tc.ref, got, tc.want)
		}
	}
}

// An epoch may be delivered before the edge it names when the receiver
// sends its sentences within milliseconds of the pulse.
func TestPairerEpochBeforeItsEdge(t *testing.T) {
	p := NewPairer(DefaultConfig(), nil)
	p.SetSource("test", BackendSimulated, time.Microsecond)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lat := 3 * time.Millisecond
	for i := range 20 {
		sec := t0.Add(time.Duration(i) * time.Second)
		p.Edge(Edge{Local: sec})
		p.Second(Second{UTC: sec, Arrival: sec.Add(lat), Fix: true})
	}
	sec := t0.Add(20 * time.Second)
	before := p.Counters().EpochsUnmatched
	if _, ok := p.Second(Second{UTC: sec, Arrival: sec.Add(lat), Fix: true}); ok {
		t.Fatal("epoch paired before its edge was delivered")
	}
	s, ok := p.Edge(Edge{Local: sec})
	if !ok || !s.UTC.Equal(sec) || !s.Local.Equal(sec) {
		t.Fatalf("late edge: sample %+v, %v; want the second %v", s, ok, sec)
	}
	if c := p.Counters(); c.EpochsUnmatched != before {
		t.Errorf("the waiting epoch was counted unmatched")
	}
}

// The local clock that timestamps the edges is the one the discipline
// steers: while it acquires, its frequency jumps by tens of ppm and keeps
// changing by fractions of a ppm every second. The capture-error estimate
// must stay the edges' own noise, or the discipline would weigh the pulses
// as if they were tens of µs noisy and take minutes to lock.
func TestPairerErrIgnoresSteering(t *testing.T) {
	const sigma = time.Microsecond
	rng := rand.New(rand.NewPCG(11, 12))
	p := NewPairer(DefaultConfig(), nil)
	p.SetSource("test", BackendSimulated, 100*time.Nanosecond)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var phase float64 // local minus UTC at the edge, seconds
	freq := 30e-6
	var errs []time.Duration
	for i := range 300 {
		switch {
		case i >= 12 && i < 20:
			// The loop slews tens of µs out within seconds, overshooting.
			freq = -20e-6 * math.Pow(-0.6, float64(i-12))
		case i >= 20:
			freq = freq*0.8 + 0.2e-6*rng.NormFloat64()
		}
		phase += freq
		sec := t0.Add(time.Duration(i) * time.Second)
		local := sec.Add(time.Duration(phase*1e9) + time.Duration(rng.NormFloat64()*float64(sigma)))
		if s, ok := p.Edge(Edge{Local: local}); ok {
			errs = append(errs, s.Err)
		}
		if s, ok := p.Second(Second{UTC: sec, Arrival: local.Add(200 * time.Millisecond), Fix: true}); ok {
			errs = append(errs, s.Err)
		}
	}
	if len(errs) < 290 {
		t.Fatalf("%d samples from 300 pulses", len(errs))
	}
	// Changes of a few µs per second while the loop slews cannot be told
	// from noise, and inflate the estimate a little for as long as they
	// last; an estimate from the interval deviations would exceed 10 µs.
	for i, e := range errs {
		if limit := 1.5 * float64(sigma); e > 4*sigma || i >= 40 && float64(e) > limit {
			t.Errorf("sample %d: Err %v for edges with σ %v", i, e, sigma)
		}
	}
	if got := p.Jitter(t0.Add(300 * time.Second)); got < sigma*7/10 || got > sigma*13/10 {
		t.Errorf("status jitter %v for σ %v", got, sigma)
	}
}

// The pairer names pulses within a few seconds of start: waiting for many
// epochs before trusting the phase costs the discipline its fast start.
func TestPairerLearnsQuickly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		latency  time.Duration
		jitter   time.Duration
		firstByS int
	}{
		{"clear of the edge", 150 * time.Millisecond, 5 * time.Millisecond, 4},
		{"near the next edge", 960 * time.Millisecond, 5 * time.Millisecond, 5},
		{"noisy sentences", 400 * time.Millisecond, 60 * time.Millisecond, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := SimConfig{Start: simStart, Seed: 9, NMEALatency: tc.latency, NMEAJitter: tc.jitter, Jitter: time.Microsecond, ClockOffset: 7 * time.Second, FreqPPM: 20}
			p := NewPairer(DefaultConfig(), nil)
			r := runSim(t, sc, p, 10*time.Minute, nil)
			if r.wrong > 0 {
				t.Errorf("%d wrong samples", r.wrong)
			}
			t.Logf("%d of 600 pulses unnamed, counters %+v", 600-r.samples, p.Counters())
			if got := 600 - r.samples; got > tc.firstByS {
				t.Errorf("%d of 600 pulses unnamed (counters %+v), want the first sample within %d s", got, p.Counters(), tc.firstByS)
			}
		})
	}
}

// With the serial line unplugged the pulses go on: they are named by
// counting from the last pulse an epoch named, for up to flywheelMax
// seconds, and epochs take over again when they come back.
func TestPairerFlywheel(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name     string
		unplug   [2]int // seconds without epochs
		stepAt   int    // clock stepped by 0.4 s during the outage; 0 none
		wantFly  int
		wantMiss int // pulses left unnamed at least
	}{
		{"five minutes", [2]int{60, 360}, 0, 300, 0},
		{"longer than the flywheel", [2]int{60, 60 + flywheelMax + 100}, 0, flywheelMax, 100},
		{"clock stepped during it", [2]int{60, 200}, 100, 40, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPairer(DefaultConfig(), nil)
			p.SetSource("test", BackendSimulated, time.Microsecond)
			var step time.Duration
			var named, wrong int
			fed := make(map[time.Time]time.Time) // UTC second -> its edge's local time
			check := func(s Sample, ok bool) {
				if !ok {
					return
				}
				named++
				if !s.Local.Equal(fed[s.UTC]) {
					wrong++
				}
			}
			end := tc.unplug[1] + 60
			for i := range end {
				if tc.stepAt > 0 && i == tc.stepAt {
					step = 400 * time.Millisecond
				}
				sec := t0.Add(time.Duration(i) * time.Second)
				local := sec.Add(step + time.Duration(rng.NormFloat64()*1000))
				fed[sec] = local
				check(p.Edge(Edge{Local: local}))
				if i < tc.unplug[0] || i >= tc.unplug[1] {
					check(p.Second(Second{UTC: sec, Arrival: local.Add(150 * time.Millisecond), Fix: true}))
				}
			}
			c := p.Counters()
			if wrong > 0 {
				t.Errorf("%d wrong samples", wrong)
			}
			t.Logf("named %d of %d, counters %+v", named, end, c)
			if got := int(c.Flywheeled); got < tc.wantFly-2 || got > tc.wantFly {
				t.Errorf("%d pulses flywheeled, want %d", got, tc.wantFly)
			}
			if unnamed := end - named; unnamed < tc.wantMiss || unnamed > tc.wantMiss+8 {
				t.Errorf("%d pulses unnamed, want %d (counters %+v)", unnamed, tc.wantMiss, c)
			}
		})
	}
}

// A step the discipline reports moves the pairer's times with the clock:
// the next pulse is accepted and named, none is lost to a resync.
func TestPairerClockStepped(t *testing.T) {
	for _, tc := range []struct {
		name     string
		report   bool
		wantLost int
	}{
		{"reported", true, 0},
		{"not reported", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPairer(DefaultConfig(), nil)
			p.SetSource("test", BackendSimulated, time.Microsecond)
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			step := time.Duration(0)
			named := map[time.Time]bool{}
			for i := range 40 {
				sec := t0.Add(time.Duration(i) * time.Second)
				local := sec.Add(300*time.Millisecond + step)
				if s, ok := p.Edge(Edge{Local: local}); ok {
					named[s.UTC] = true
				}
				s, ok := p.Second(Second{UTC: sec, Arrival: local.Add(150 * time.Millisecond), Fix: true})
				if ok {
					if !s.Local.Equal(local) {
						t.Fatalf("second %d named the edge at %v, want %v", i, s.Local, local)
					}
					named[s.UTC] = true
				}
				if i == 20 {
					step = -300 * time.Millisecond
					if tc.report {
						p.ClockStepped(step)
					}
				}
			}
			lost := 0
			for i := 5; i < 40; i++ {
				if !named[t0.Add(time.Duration(i)*time.Second)] {
					lost++
				}
			}
			if lost != tc.wantLost {
				t.Errorf("%d pulses after the first 5 s not named, want %d (counters %+v)", lost, tc.wantLost, p.Counters())
			}
		})
	}
}

// Epochs whose label moves by whole seconds while the pulses run on (a
// backlog read late, an arrival at an ambiguous phase) name no pulse: the
// conflict is counted and held until it persists for conflictHold epochs.
// At start, no pulse is named before labelConfirm epochs agree.
func TestPairerLabelConflict(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		off       [2]int // seconds whose labels are one second late: [from, to)
		wantWrong int
		wantConf  uint64
	}{
		{"at start", [2]int{0, 2}, 0, 0},
		{"a few seconds", [2]int{60, 65}, 0, 5},
		{"persisting", [2]int{60, 120}, 120 - 60 - (conflictHold - 1), conflictHold - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPairer(DefaultConfig(), nil)
			p.SetSource("test", BackendSimulated, time.Microsecond)
			rng := rand.New(rand.NewPCG(5, 6))
			wrong := 0
			check := func(s Sample, ok bool, edge map[time.Time]time.Time) {
				if ok && !s.Local.Equal(edge[s.UTC]) {
					wrong++
				}
			}
			edge := map[time.Time]time.Time{}
			for i := range 120 {
				sec := t0.Add(time.Duration(i) * time.Second)
				// The clock is 0.35 s fast: beyond nearest_within, so
				// the labels come from NMEA.
				local := sec.Add(350*time.Millisecond + time.Duration(rng.NormFloat64()*1000))
				edge[sec] = local
				s, ok := p.Edge(Edge{Local: local})
				check(s, ok, edge)
				label := sec
				if i >= tc.off[0] && i < tc.off[1] {
					label = sec.Add(time.Second)
				}
				s, ok = p.Second(Second{UTC: label, Arrival: local.Add(600 * time.Millisecond), Fix: true})
				check(s, ok, edge)
			}
			c := p.Counters()
			if wrong != tc.wantWrong || c.LabelConflicts != tc.wantConf {
				t.Errorf("%d wrong samples, %d conflicts; want %d, %d (counters %+v)", wrong, c.LabelConflicts, tc.wantWrong, tc.wantConf, c)
			}
		})
	}
}
