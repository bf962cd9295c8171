package sim

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"stratum1/discipline"
	"stratum1/ntp"
)

// WallClock is the simulated oscillator run in real time: true time is this
// machine's system clock, and the clock's reading is true time plus the
// phase that the oscillator and the discipline's corrections accumulate. It
// implements discipline.Clock and never touches the system clock.
type WallClock struct {
	mu    sync.Mutex
	start time.Time // system time at the start of the run
	vc    *VirtualClock
	seg   atomic.Pointer[segment]
}

// segment is the clock as a straight line from one system-clock instant, as
// a kernel publishes its clock to the vDSO: the responder reads the time
// for every reply, and integrating the oscillator under a lock there would
// put that cost (and any wait for the lock) between the clock reading and
// the send. The line is redrawn at least every segmentSpan and at every
// correction (each pulse, so a reader rarely redraws it); over that span
// the oscillator's wander and a temperature transient move the reading by
// under a nanosecond.
type segment struct {
	sys, clock time.Time
	rate       float64 // clock seconds per system second, minus one
}

const segmentSpan = 250 * time.Millisecond

// NewWallClock returns a clock that starts offset from the system clock and
// then drifts as the settings' oscillator does.
func NewWallClock(s Settings, osc *Oscillator) *WallClock {
	start := time.Now()
	return &WallClock{start: start, vc: NewVirtualClock(start, s.InitialOffset, osc)}
}

// At returns the clock's reading at the system-clock instant sys.
func (c *WallClock) At(sys time.Time) time.Time {
	if s := c.seg.Load(); s != nil {
		if d := sys.Sub(s.sys); d > -segmentSpan && d < segmentSpan {
			return s.at(sys)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atLocked(sys)
}

// atLocked advances the oscillator to sys and redraws the segment.
func (c *WallClock) atLocked(sys time.Time) time.Time {
	if t := sys.Sub(c.start).Seconds(); t > c.vc.Elapsed() {
		c.vc.AdvanceTo(t)
	}
	// Instants in the past (kernel receive timestamps) are read back
	// along the segment: at 45 ppm, 3 ms back is 135 ns.
	return c.publish().at(sys)
}

// publish redraws the segment from the oscillator's state. c.mu is held.
func (c *WallClock) publish() *segment {
	s := &segment{
		sys:   c.vc.True(),
		clock: c.vc.Now(),
		rate:  c.vc.osc.Frequency() + c.vc.corrPPM*1e-6,
	}
	c.seg.Store(s)
	return s
}

func (s *segment) at(sys time.Time) time.Time {
	d := sys.Sub(s.sys)
	return s.clock.Add(d + time.Duration(float64(d)*s.rate))
}

// Error returns the clock's error (clock - system clock) now.
func (c *WallClock) Error() time.Duration {
	now := time.Now()
	return c.At(now).Sub(now)
}

// Now reads the clock.
func (c *WallClock) Now() time.Time { return c.At(time.Now()) }

// Frequency returns the correction in force, in ppm.
func (c *WallClock) Frequency() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.Frequency()
}

// SetFrequency sets the correction, in ppm.
func (c *WallClock) SetFrequency(ppm float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.atLocked(time.Now())
	err := c.vc.SetFrequency(ppm)
	c.publish()
	return err
}

// Step adds d to the clock.
func (c *WallClock) Step(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.atLocked(time.Now())
	err := c.vc.Step(d)
	c.publish()
	return err
}

// SetLeap records the armed leap second.
func (c *WallClock) SetLeap(l ntp.Leap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.SetLeap(l)
}

// KernelStatus reports the simulated clock's kernel state.
func (c *WallClock) KernelStatus() (discipline.KernelInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.KernelStatus()
}

// SetSync records the published status.
func (c *WallClock) SetSync(synced bool, est, max time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.SetSync(synced, est, max)
}

// SensorC reads the simulated SoC's temperature sensor now, °C; an error
// when the settings model no temperatures.
func (c *WallClock) SensorC() (float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.atLocked(time.Now())
	v, ok := c.vc.osc.SensorC()
	if !ok {
		return 0, errors.New("simulated temperature: the run models none")
	}
	return v, nil
}
