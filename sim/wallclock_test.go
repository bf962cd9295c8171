package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func newTestWallClock(t0 time.Time) *WallClock {
	s := DefaultSettings()
	s.WanderPPM = 0.01 // far more than a crystal, so that a missed step would show
	s.FreqOffsetPPM = 45
	osc := NewOscillator(s, rand.New(rand.NewPCG(7, 1)))
	return &WallClock{start: t0, vc: NewVirtualClock(t0, 300*time.Millisecond, osc)}
}

// TestWallClockSegment checks that the lock-free reading along the
// published segment agrees with integrating the oscillator to the same
// instant, in the past (kernel receive timestamps) and in the future.
func TestWallClockSegment(t *testing.T) {
	t0 := time.Now()
	for _, d := range []time.Duration{-3 * time.Millisecond, time.Millisecond, 200 * time.Millisecond} {
		fast, full := newTestWallClock(t0), newTestWallClock(t0)
		base := t0.Add(2 * time.Second)
		fast.At(base) // draws the segment at base
		got := fast.At(base.Add(d))
		full.mu.Lock()
		full.atLocked(base)
		want := full.atLocked(base.Add(d))
		full.mu.Unlock()
		if diff := got.Sub(want); diff < -time.Nanosecond || diff > time.Nanosecond {
			t.Errorf("%v from the segment's start: read %v, integrated %v (%v apart)", d, got, want, diff)
		}
		if got.Sub(base.Add(d)) < 299*time.Millisecond {
			t.Errorf("reading %v does not carry the clock's 300 ms offset", got.Sub(base.Add(d)))
		}
	}
}

// TestWallClockCorrectionsTakeEffectAtOnce checks that a frequency change
// and a step redraw the segment: a reading right after them must not
// extrapolate the old line.
func TestWallClockCorrectionsTakeEffectAtOnce(t *testing.T) {
	c := newTestWallClock(time.Now())
	c.At(time.Now())
	before := c.seg.Load().rate
	if err := c.SetFrequency(100); err != nil {
		t.Fatal(err)
	}
	if got := c.seg.Load().rate - before; got < 99.9e-6 || got > 100.1e-6 {
		t.Errorf("segment rate moved by %g after +100 ppm", got)
	}
	probe := time.Now().Add(time.Millisecond)
	r0 := c.At(probe)
	if err := c.Step(time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.At(probe).Sub(r0); got < time.Second-time.Microsecond || got > time.Second+time.Microsecond {
		t.Errorf("reading moved by %v after a 1 s step", got)
	}
}

// The real-time simulation's sensor reads the simulated SoC, in the
// sensor's half-degree steps; a run without temperatures has none.
func TestWallClockSensor(t *testing.T) {
	s := DefaultSettings()
	if _, err := NewWallClock(s, NewOscillator(s, rand.New(rand.NewPCG(1, 2)))).SensorC(); err == nil {
		t.Error("a run without temperatures has a sensor")
	}
	s.CPULoad = []Load{{Share: 0.5}}
	c, err := NewWallClock(s, NewOscillator(s, rand.New(rand.NewPCG(1, 2)))).SensorC()
	if err != nil || math.Abs(c-55) > 1 || c != math.Round(c*2)/2 {
		t.Errorf("sensor reads %v, %v; want about 55 °C (idle 45, half load 10 more) in half degrees", c, err)
	}
}
