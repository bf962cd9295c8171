package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"stratum1/discipline"
	"stratum1/ntp"
)

// maxSubstep bounds the integration step: the temperature term and the
// wander change little within it.
const maxSubstep = 0.5

// Oscillator is a crystal's fractional frequency error over true time: a
// fixed offset, a random walk, and a temperature term that follows its
// target through a first-order thermal lag.
type Oscillator struct {
	baseFreq   float64 // fractional
	wander     float64 // fractional per sqrt(s)
	thermalTau float64 // s
	steps      []Step
	dailyAmp   float64 // fractional
	rng        *rand.Rand

	walk float64 // current random-walk term
	temp float64 // current temperature term

	th *thermal // temperatures in degrees; nil when the run has none
}

// NewOscillator returns the oscillator the settings describe.
func NewOscillator(s Settings, rng *rand.Rand) *Oscillator {
	o := &Oscillator{
		baseFreq:   s.FreqOffsetPPM * 1e-6,
		wander:     s.WanderPPM * 1e-6,
		thermalTau: s.ThermalTau.Seconds(),
		steps:      s.TempSteps,
		dailyAmp:   s.TempDailyPPM * 1e-6,
		rng:        rng,
	}
	if s.Thermal() {
		// The sensor's noise from its own source, so that the
		// oscillator's random walk is the same with and without it.
		o.th = newThermal(s, rand.New(rand.NewPCG(uint64(s.Seed), 0x7e3d)))
	}
	return o
}

// SensorC is the SoC's temperature sensor's reading now, °C; ok is false
// when the run models no temperatures.
func (o *Oscillator) SensorC() (c float64, ok bool) {
	if o.th == nil {
		return 0, false
	}
	return o.th.reading(), true
}

// CrystalC is the crystal's temperature now, °C (NaN without a thermal
// model).
func (o *Oscillator) CrystalC() float64 {
	if o.th == nil {
		return math.NaN()
	}
	return o.th.crystC
}

// target is the temperature term's equilibrium at t seconds into the run.
func (o *Oscillator) target(t float64) float64 {
	v := o.dailyAmp * math.Sin(2*math.Pi*t/86400)
	for _, s := range o.steps {
		at := s.At.Seconds()
		switch {
		case t < at:
		case s.Ramp > 0:
			v += s.SizePPM * 1e-6 * min((t-at)/s.Ramp.Seconds(), 1)
		default:
			v += s.SizePPM * 1e-6
		}
	}
	return v
}

// advance moves the oscillator from t by h seconds and returns the phase
// it accumulates (the integral of its frequency error).
func (o *Oscillator) advance(t, h float64) float64 {
	target := o.target(t + h/2)
	var intT float64
	if o.thermalTau > 0 {
		a := -math.Expm1(-h / o.thermalTau)
		intT = target*h - (target-o.temp)*o.thermalTau*a
		o.temp += (target - o.temp) * a
	} else {
		o.temp = target
		intT = target * h
	}
	inc := o.wander * math.Sqrt(h) * o.rng.NormFloat64()
	intW := (o.walk + inc/2) * h
	o.walk += inc
	if o.th != nil {
		intT += o.th.advance(t, h)
	}
	return o.baseFreq*h + intW + intT
}

// Frequency is the oscillator's current fractional frequency error.
func (o *Oscillator) Frequency() float64 {
	f := o.baseFreq + o.walk + o.temp
	if o.th != nil {
		f += o.th.freq
	}
	return f
}

// VirtualClock is a clock driven by an Oscillator on a virtual time base:
// true time advances only when told, and the clock's reading is true time
// plus the phase the oscillator and the discipline's corrections have
// accumulated. It implements discipline.Clock.
type VirtualClock struct {
	start   time.Time
	t       float64 // true seconds since start
	phase   float64 // clock - true, s
	corrPPM float64
	osc     *Oscillator
	freeInt float64 // integral of the oscillator's own frequency error
	trusted bool    // vouched for at start (Vouched)

	Leap   ntp.Leap
	Synced bool
	EstErr time.Duration
	MaxErr time.Duration
	Steps  []time.Duration
}

// NewVirtualClock returns a clock reading start+offset at true time start.
func NewVirtualClock(start time.Time, offset time.Duration, osc *Oscillator) *VirtualClock {
	return &VirtualClock{start: start, phase: offset.Seconds(), osc: osc}
}

// Vouched reports whether the clock is trusted at start (Settings.ClockTrusted)
// with the kernel's error estimate a locked run leaves, for discipline.Voucher.
func (c *VirtualClock) Vouched() (time.Duration, bool) {
	return 2 * time.Microsecond, c.trusted
}

// AdvanceTo moves true time forward to t seconds into the run.
func (c *VirtualClock) AdvanceTo(t float64) {
	for c.t < t {
		h := min(maxSubstep, t-c.t)
		free := c.osc.advance(c.t, h)
		c.freeInt += free
		c.phase += free + c.corrPPM*1e-6*h
		c.t += h
	}
}

// Elapsed is the true time since the start.
func (c *VirtualClock) Elapsed() float64 { return c.t }

// True is the true time now.
func (c *VirtualClock) True() time.Time { return c.start.Add(seconds(c.t)) }

// Error is the clock's error now (clock - true), in seconds.
func (c *VirtualClock) Error() float64 { return c.phase }

// FreeIntegral is the phase the bare oscillator has accumulated, s.
func (c *VirtualClock) FreeIntegral() float64 { return c.freeInt }

// Oscillator returns the oscillator that drives the clock.
func (c *VirtualClock) Oscillator() *Oscillator { return c.osc }

// Now reads the clock.
func (c *VirtualClock) Now() time.Time { return c.start.Add(seconds(c.t + c.phase)) }

// Frequency returns the correction in force.
func (c *VirtualClock) Frequency() (float64, error) { return c.corrPPM, nil }

// SetFrequency sets the correction from now on.
func (c *VirtualClock) SetFrequency(ppm float64) error { c.corrPPM = ppm; return nil }

// Step adds d to the clock.
func (c *VirtualClock) Step(d time.Duration) error {
	c.phase += d.Seconds()
	c.Steps = append(c.Steps, d)
	return nil
}

// SetLeap records the armed leap second.
func (c *VirtualClock) SetLeap(l ntp.Leap) error { c.Leap = l; return nil }

// KernelStatus is what adjtimex would report for the simulated clock: the
// correction in force and the status the discipline published; no kernel
// PLL runs, so no offset, nanosecond resolution, 500 ppm of tolerance.
func (c *VirtualClock) KernelStatus() (discipline.KernelInfo, error) {
	const staUnsync, staIns, staDel, staNano = 0x40, 0x10, 0x20, 0x2000
	st := uint32(staNano)
	if !c.Synced {
		st |= staUnsync
	}
	switch c.Leap {
	case ntp.LeapInsert:
		st |= staIns
	case ntp.LeapDelete:
		st |= staDel
	}
	return discipline.KernelInfo{
		FrequencyPPM: c.corrPPM, MaxError: c.MaxErr, EstError: c.EstErr, Status: st,
		Precision: time.Nanosecond, TolerancePPM: 500, PPSInterval: time.Second,
	}, nil
}

// SetSync records the published status.
func (c *VirtualClock) SetSync(synced bool, est, max time.Duration) error {
	c.Synced, c.EstErr, c.MaxErr = synced, est, max
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }
