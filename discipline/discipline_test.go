package discipline

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"stratum1/ntp"
)

// fakeClock is a perfect clock with an offset, recording what the loop does.
type fakeClock struct {
	freq  float64
	steps []time.Duration
	leap  ntp.Leap
}

func (c *fakeClock) Now() time.Time                                   { return time.Time{} }
func (c *fakeClock) Frequency() (float64, error)                      { return c.freq, nil }
func (c *fakeClock) SetFrequency(p float64) error                     { c.freq = p; return nil }
func (c *fakeClock) Step(d time.Duration) error                       { c.steps = append(c.steps, d); return nil }
func (c *fakeClock) SetLeap(l ntp.Leap) error                         { c.leap = l; return nil }
func (c *fakeClock) SetSync(bool, time.Duration, time.Duration) error { return nil }

func testConfig() Config {
	c := DefaultConfig()
	c.DriftFile, c.LeapFile = "", ""
	return c
}

var t0 = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)

func pps(k int, off time.Duration) Sample {
	tr := t0.Add(time.Duration(k) * time.Second)
	return Sample{Local: tr.Add(off), True: tr, Source: PPS}
}

func TestInitialStepThenSlew(t *testing.T) {
	clk := &fakeClock{}
	d, err := New(testConfig(), clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		d.Sample(pps(k, 300*time.Millisecond))
	}
	if len(clk.steps) != 1 || clk.steps[0] != -300*time.Millisecond {
		t.Fatalf("steps = %v, want one of -300ms", clk.steps)
	}
	for k := 3; k < 20; k++ {
		d.Sample(pps(k, 0))
	}
	if d.State() != Locked {
		t.Errorf("state %v, want LOCKED", d.State())
	}
	if ss := d.ServerState(); ss.Stratum != 1 || ss.RefID != ntp.RefPPS || ss.Leap != ntp.LeapNone {
		t.Errorf("published %+v", ss)
	}
	// A whole-second disagreement later is refused, never stepped to.
	for k := 20; k < 40; k++ {
		d.Sample(pps(k, time.Second))
	}
	if len(clk.steps) != 1 || d.Stats().WholeSecond == 0 {
		t.Errorf("steps %v, whole-second refusals %d", clk.steps, d.Stats().WholeSecond)
	}
	// Pulses stop: holdover, then unusable after the limit.
	now := t0.Add(41 * time.Second)
	d.Tick(now)
	if d.State() != Holdover || !d.ServerState().Synchronised() {
		t.Errorf("state %v, want HOLDOVER and still synchronised", d.State())
	}
	d.Tick(now.Add(d.cfg.HoldoverLimit + time.Second))
	if d.State() != Unusable || d.ServerState().Synchronised() {
		t.Errorf("state %v, want UNUSABLE and unsynchronised", d.State())
	}
}

func TestSmallOffsetIsSlewed(t *testing.T) {
	clk := &fakeClock{}
	d, _ := New(testConfig(), clk, nil)
	for k := range 10 {
		d.Sample(pps(k, 50*time.Millisecond))
	}
	if len(clk.steps) != 0 || clk.freq >= 0 {
		t.Errorf("steps %v freq %v: want no step and a negative frequency to slew 50ms out", clk.steps, clk.freq)
	}
}

// NMEA of unknown latency sets the clock coarsely; pulses that come later
// (a device whose permissions came late) step out what it left above
// step_threshold, however many NMEA updates came first, and only then.
func TestPulsesAfterCoarseNMEAStep(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bias      time.Duration // the NMEA samples' Bias
		wantSteps int
	}{
		{"latency unknown", time.Second, 1},
		{"latency known", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			d, _ := New(testConfig(), clk, nil)
			k := 0
			for ; k < 30; k++ {
				s := pps(k, 0)
				s.Source, s.Bias = NMEA, tc.bias
				d.Sample(s)
			}
			// The sentences came 400 ms after their second: the clock
			// is that much behind.
			for ; k < 60; k++ {
				d.Sample(pps(k, -400*time.Millisecond))
			}
			if len(clk.steps) != tc.wantSteps || (tc.wantSteps == 1 && clk.steps[0] != 400*time.Millisecond) {
				t.Errorf("steps %v, want %d of 400ms", clk.steps, tc.wantSteps)
			}
			// Locked to the pulses, the allowance is over.
			for ; k < 90; k++ {
				d.Sample(pps(k, -400*time.Millisecond+time.Duration(len(clk.steps))*400*time.Millisecond))
			}
			for ; k < 120; k++ {
				d.Sample(pps(k, -200*time.Millisecond))
			}
			if len(clk.steps) != tc.wantSteps {
				t.Errorf("steps %v after locking to the pulses, want %d", clk.steps, tc.wantSteps)
			}
		})
	}
}

func TestDriftFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "drift")
	if err := WriteDriftFile(p, -12.5, 0.01); err != nil {
		t.Fatal(err)
	}
	f, s, err := ReadDriftFile(p, 500)
	if err != nil || f != -12.5 || s != 0.01 {
		t.Fatalf("read %v %v %v", f, s, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary file left behind: %v", ents)
	}
	for name, text := range map[string]string{
		"garbage": "hello", "absurd": "9999 0.1", "nan": "NaN 0.1", "skew": "1 0", "three": "1 2 3",
	} {
		os.WriteFile(p, []byte(text), 0o644)
		if _, _, err := ReadDriftFile(p, 500); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A discipline ignores the corrupt file and starts.
	clk := &fakeClock{freq: 3}
	cfg := testConfig()
	cfg.DriftFile = p
	if _, err := New(cfg, clk, nil); err != nil || clk.freq != 3 {
		t.Errorf("New with corrupt drift file: %v, freq %v", err, clk.freq)
	}
	WriteDriftFile(p, 7, 0.1)
	if _, err := New(cfg, clk, nil); err != nil || clk.freq != 7 {
		t.Errorf("New with drift file: %v, freq %v, want 7", err, clk.freq)
	}
}

func TestLeapFromReceiver(t *testing.T) {
	clk := &fakeClock{}
	d, _ := New(testConfig(), clk, nil)
	d.SetLeapHint(ntp.LeapInsert)
	d.Tick(time.Date(2026, 6, 29, 12, 0, 0, 0, time.UTC))
	if clk.leap != ntp.LeapNone {
		t.Errorf("armed %v before the last day of the month", clk.leap)
	}
	d.Tick(time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC))
	if clk.leap != ntp.LeapInsert {
		t.Errorf("not armed on the last day: %v", clk.leap)
	}
	d.Tick(time.Date(2026, 7, 1, 0, 0, 1, 0, time.UTC))
	if clk.leap != ntp.LeapNone {
		t.Errorf("still armed after midnight: %v", clk.leap)
	}
}
