//go:build !linux

package discipline

import (
	"errors"
	"time"

	"stratum1/ntp"
)

// SystemClock steers the system clock; it is implemented on Linux only.
type SystemClock struct {
	NoAdjust bool
}

var errUnsupported = errors.New("clock adjustment is implemented on Linux only")

func (c *SystemClock) Now() time.Time                                   { return time.Now() }
func (c *SystemClock) Frequency() (float64, error)                      { return 0, errUnsupported }
func (c *SystemClock) SetFrequency(float64) error                       { return errUnsupported }
func (c *SystemClock) Step(time.Duration) error                         { return errUnsupported }
func (c *SystemClock) SetLeap(ntp.Leap) error                           { return errUnsupported }
func (c *SystemClock) SetSync(bool, time.Duration, time.Duration) error { return errUnsupported }

// Vouched is implemented on Linux only: nothing vouches for the clock.
func (c *SystemClock) Vouched() (time.Duration, bool) { return 0, false }

// KernelStatus is implemented on Linux only.
func (c *SystemClock) KernelStatus() (KernelInfo, error) { return KernelInfo{}, errUnsupported }
