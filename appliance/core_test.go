package appliance

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"stratum1/discipline"
	"stratum1/gps"
	"stratum1/ntp"
	"stratum1/peer"
	"stratum1/pps"
)

// stepClock is a clock that accepts every adjustment and keeps the steps.
type stepClock struct{ steps []time.Duration }

func (c *stepClock) Now() time.Time                                   { return time.Time{} }
func (c *stepClock) Frequency() (float64, error)                      { return 0, nil }
func (c *stepClock) SetFrequency(float64) error                       { return nil }
func (c *stepClock) Step(d time.Duration) error                       { c.steps = append(c.steps, d); return nil }
func (c *stepClock) SetLeap(ntp.Leap) error                           { return nil }
func (c *stepClock) SetSync(bool, time.Duration, time.Duration) error { return nil }

func newTestCore(t *testing.T, clk discipline.Clock, start time.Time) *Core {
	t.Helper()
	cfg := CoreConfig{Discipline: discipline.DefaultConfig(), PPS: pps.DefaultConfig(), GPSRecoverAfter: time.Minute}
	cfg.Discipline.DriftFile, cfg.Discipline.LeapFile = "", ""
	cfg.Discipline.NMEALatency = 150 * time.Millisecond
	c, err := NewCore(cfg, clk, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Without a PPS device, valid NMEA epochs steer the clock: a clock 2 s
// ahead is stepped back in the call that hands over the deciding epoch,
// and the step comes back as an action.
func TestCoreStepsOnNMEAAlone(t *testing.T) {
	clk := &stepClock{}
	utc := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	off := 2*time.Second + 150*time.Millisecond // clock ahead, plus the NMEA latency
	c := newTestCore(t, clk, utc.Add(off))
	var stepped time.Duration
	for i := range 10 {
		sec := utc.Add(time.Duration(i) * time.Second)
		arrival := sec.Add(off + stepped)
		for _, a := range c.Epoch(arrival, gps.Epoch{Time: sec, Valid: true, Mode: 3, Arrival: arrival}, c.Steps()) {
			if a.Kind == ActionStep {
				stepped += a.Step
			}
		}
		c.Tick(arrival.Add(500 * time.Millisecond))
	}
	if len(clk.steps) != 1 || stepped != clk.steps[0] || c.Steps() != 1 {
		t.Fatalf("steps %v, actions stepped %v", clk.steps, stepped)
	}
	if d := stepped + 2*time.Second; d < -10*time.Millisecond || d > 10*time.Millisecond {
		t.Errorf("stepped %v, want about -2s", stepped)
	}
	if v := c.View(utc.Add(10 * time.Second)); v.State != Acquiring && v.State != Locked {
		t.Errorf("state %s after 10 epochs", v.State)
	}
}

// An input read before a step is moved into the clock's new scale; one
// older than the steps kept is dropped.
func TestCoreRebasesInputsFromBeforeAStep(t *testing.T) {
	c := newTestCore(t, &stepClock{}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	t0 := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	chimers := []time.Duration{2 * time.Second, 2100 * time.Millisecond}
	c.Peers(t0, peer.Selection{OK: true, Offset: 2 * time.Second, TrueChimers: chimers})
	c.stepped(-2 * time.Second)
	c.stepped(time.Second)
	if c.sel.Offset != time.Second || c.sel.TrueChimers[1] != 1100*time.Millisecond || chimers[1] != 2100*time.Millisecond {
		t.Errorf("the peers' selection after the steps: %v %v (the caller's: %v)", c.sel.Offset, c.sel.TrueChimers, chimers)
	}
	tests := []struct {
		gen  uint64
		want time.Time
	}{
		{0, t0.Add(-time.Second)},
		{1, t0.Add(time.Second)},
		{2, t0},
		{7, t0}, // from the future: nothing to undo
	}
	for _, tt := range tests {
		if got, ok := c.rebase(t0, tt.gen); !ok || !got.Equal(tt.want) {
			t.Errorf("gen %d: %v %v, want %v", tt.gen, got, ok, tt.want)
		}
	}
	for range keptSteps {
		c.stepped(time.Millisecond)
	}
	if _, ok := c.rebase(t0, 0); ok {
		t.Error("an input from before more steps than are kept was re-based")
	}
	before := c.stale
	c.Edge(t0, pps.Edge{Local: t0, Seq: 1}, 0)
	if c.stale != before+1 {
		t.Error("a stale edge was not counted")
	}
}

func TestStateReason(t *testing.T) {
	tests := []struct {
		prev State
		o    Observation
		want string
	}{
		{Locked, Observation{GPSDistrusted: true}, "GPS disagrees with the peers"},
		{Holdover, Observation{HoldoverLimit: true}, "holdover limit reached"},
		{Acquiring, Observation{TimeKnown: true, Disciplined: true, SourceFresh: true}, "disciplined to GPS"},
		{Locked, Observation{TimeKnown: true, Disciplined: true}, "GPS samples lost"},
		{NoTime, Observation{TimeKnown: true}, "GPS time known, loop not locked"},
		{NoTime, Observation{PeersUsable: true}, "no GPS time; peers usable"},
		{Locked, Observation{}, "no usable source"},
		{Locked, Observation{TimeKnown: true, PeersUsable: true}, "GPS not disciplined"},
	}
	for _, tt := range tests {
		if got := stateReason(tt.prev, tt.o); got != tt.want {
			t.Errorf("%s %+v: %q, want %q", tt.prev, tt.o, got, tt.want)
		}
	}
}

// A receiver whose sentences stop (a cut line) is logged once after
// nmeaSilence, and its return once, with how long it was silent.
func TestCoreLogsNMEASilence(t *testing.T) {
	var buf bytes.Buffer
	cfg := CoreConfig{Discipline: discipline.DefaultConfig(), PPS: pps.DefaultConfig(), GPSRecoverAfter: time.Minute}
	cfg.Discipline.DriftFile, cfg.Discipline.LeapFile = "", ""
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := NewCore(cfg, &stepClock{}, t0, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	epoch := func(at time.Time) {
		c.Epoch(at, gps.Epoch{Time: at.Truncate(time.Second), Valid: true, Mode: 3, Arrival: at}, c.Steps())
	}
	at := t0.Add(100 * time.Millisecond)
	for range 3 {
		epoch(at)
		c.Tick(at.Add(400 * time.Millisecond))
		at = at.Add(time.Second)
	}
	for k := range 12 { // the line cut: ticks only
		c.Tick(at.Add(time.Duration(k) * time.Second))
		if got := strings.Count(buf.String(), "no NMEA time"); (k >= 4 && got != 1) || (k < 4 && got != 0) {
			t.Fatalf("%d s into the silence: %d warnings\n%s", k+1, got, buf.String())
		}
	}
	epoch(at.Add(12 * time.Second))
	epoch(at.Add(13 * time.Second))
	if got := strings.Count(buf.String(), "NMEA time back"); got != 1 {
		t.Fatalf("%d notes of the return, want 1\n%s", got, buf.String())
	}
	if !strings.Contains(buf.String(), "silent_for=13s") {
		t.Errorf("the return does not say how long it was silent:\n%s", buf.String())
	}
}

// Without pulses, an NMEA sample's latency is the configured one, else the
// one the pairer learned while there were pulses, else unknown: then the
// served error says so (a second), instead of nmea_error's 20 ms for a
// clock 150 ms off. With the latency learned, NMEA alone agrees with the
// clock the pulses set, and the served error is milliseconds.
func TestCoreNMEALatencyWithoutPulses(t *testing.T) {
	const latency = 150 * time.Millisecond
	for _, tc := range []struct {
		name      string
		pulsesFor int           // seconds of pulses before the device goes
		maxDisp   time.Duration // largest root dispersion wanted; 0 any
		maxGPS    time.Duration // largest |clock - NMEA| over the last epochs; 0 any
	}{
		{"never pulses", 0, 0, 0},
		{"latency learned", 40, 100 * time.Millisecond, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &stepClock{}
			utc := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			off := 2 * time.Second // the clock ahead at start
			cfg := CoreConfig{Discipline: discipline.DefaultConfig(), PPS: pps.DefaultConfig(), GPSRecoverAfter: time.Minute}
			cfg.Discipline.DriftFile, cfg.Discipline.LeapFile = "", "" // nmea_latency not configured
			c, err := NewCore(cfg, clk, utc.Add(off), nil)
			if err != nil {
				t.Fatal(err)
			}
			var stepped time.Duration
			do := func(acts []Action) {
				for _, a := range acts {
					if a.Kind == ActionStep {
						stepped += a.Step
					}
				}
			}
			if tc.pulsesFor > 0 {
				do(c.PPSSource(utc.Add(off), "/dev/pps0", "pps-api", time.Microsecond))
			}
			var gpsWorst time.Duration
			for i := range tc.pulsesFor + 30 {
				sec := utc.Add(time.Duration(i) * time.Second)
				if i == tc.pulsesFor && tc.pulsesFor > 0 {
					do(c.PPSSource(sec.Add(off+stepped), "/dev/pps0", "", 0))
				}
				if i < tc.pulsesFor {
					at := sec.Add(off + stepped)
					do(c.Edge(at, pps.Edge{Local: at, Seq: uint64(i + 1)}, c.Steps()))
				}
				arrival := sec.Add(latency + off + stepped)
				do(c.Epoch(arrival, gps.Epoch{Time: sec, Valid: true, Mode: 3, Arrival: arrival}, c.Steps()))
				do(c.Tick(arrival.Add(500 * time.Millisecond)))
				if i >= tc.pulsesFor+20 {
					gpsWorst = max(gpsWorst, c.View(arrival).GPSOffset.Abs())
				}
			}
			// The stand-in clock only steps: its error is what the steps left.
			st, clockErr := c.Served(), (off + stepped).Abs()
			if st == nil || !st.Synchronised() || st.RootDispersion < clockErr {
				t.Fatalf("served %+v for a clock %v off", st, clockErr)
			}
			if tc.maxDisp > 0 && st.RootDispersion > tc.maxDisp {
				t.Errorf("root dispersion %v, want <= %v", st.RootDispersion, tc.maxDisp)
			}
			if tc.maxGPS > 0 && gpsWorst > tc.maxGPS {
				t.Errorf("clock - NMEA up to %v without pulses, want within %v", gpsWorst, tc.maxGPS)
			}
		})
	}
}
