package sim

import (
	"sync"
	"time"

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
}

// NewWallClock returns a clock that starts offset from the system clock and
// then drifts as the settings' oscillator does.
func NewWallClock(s Settings, osc *Oscillator) *WallClock {
	start := time.Now()
	return &WallClock{start: start, vc: NewVirtualClock(start, s.InitialOffset, osc)}
}

// At returns the clock's reading at the system-clock instant sys.
func (c *WallClock) At(sys time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := sys.Sub(c.start).Seconds(); t > c.vc.Elapsed() {
		c.vc.AdvanceTo(t)
	}
	// Instants slightly in the past (kernel receive timestamps) are read
	// back along the current phase: the frequency error over that
	// interval is far below a nanosecond.
	return c.vc.Now().Add(sys.Sub(c.vc.True()))
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
	c.advance()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.SetFrequency(ppm)
}

// Step adds d to the clock.
func (c *WallClock) Step(d time.Duration) error {
	c.advance()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.Step(d)
}

// SetLeap records the armed leap second.
func (c *WallClock) SetLeap(l ntp.Leap) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.SetLeap(l)
}

// SetSync records the published status.
func (c *WallClock) SetSync(synced bool, est, max time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vc.SetSync(synced, est, max)
}

// advance brings the oscillator up to now, so that a correction takes effect
// from now and not from the last reading.
func (c *WallClock) advance() { c.At(time.Now()) }
