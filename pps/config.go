package pps

import (
	"errors"
	"fmt"
	"time"
)

// Backend names, as Source.Backend and the status report them.
const (
	BackendAuto      = "auto"
	BackendPPSAPI    = "pps-api"          // RFC 2783 /dev/ppsN
	BackendGPIOCdev  = "gpio-cdev"        // GPIO character device, kernel timestamps
	BackendPeriph    = "periph-userspace" // periph.io edge wait, user-space timestamps
	BackendSimulated = "simulated"
)

// Polarity names which edge of the pulse marks the second.
const (
	PolarityRising  = "rising"  // the PPS API's assert edge
	PolarityFalling = "falling" // the PPS API's clear edge
	PolarityAuto    = "auto"    // capture both; the edge that starts the short pulse marks the second
)

// Config is the [pps] section of the configuration file.
type Config struct {
	Device  string `toml:"device"`  // /dev/ppsN for the PPS API backend, or "" to use Pin only
	Pin     string `toml:"pin"`     // GPIO line name such as GPIO18, for the GPIO backends
	Backend string `toml:"backend"` // auto, pps-api, gpio-cdev, periph-userspace

	// Polarity is the edge that marks the second: rising, falling or auto.
	Polarity string `toml:"polarity"`

	// CableDelayNs is the propagation delay of the antenna cable and
	// receiver front end: the edge arrives this much after the second.
	CableDelayNs int64 `toml:"cable_delay_ns"`
	// OffsetNs is any further constant lateness of the edge (a receiver's
	// documented PPS offset, a level shifter), positive when the edge is late.
	OffsetNs int64 `toml:"offset_ns"`

	// IntervalTolerance is how far from a whole number of seconds the
	// interval between two pulses may be before the later one is rejected.
	// It must cover the local clock's frequency error as well as jitter.
	IntervalTolerance time.Duration `toml:"interval_tolerance"`

	// NearestWithin is how close the local clock must be to UTC before an
	// edge is labelled with its nearest second rather than by the NMEA epoch.
	NearestWithin time.Duration `toml:"nearest_within"`
}

// DefaultConfig fits a Raspberry Pi with the usual GPS hat: the pps-gpio
// overlay on GPIO18, falling back to the GPIO character device on the same pin.
func DefaultConfig() Config {
	return Config{
		Device:            "/dev/pps0",
		Pin:               "GPIO18",
		Backend:           BackendAuto,
		Polarity:          PolarityRising,
		IntervalTolerance: 5 * time.Millisecond,
		NearestWithin:     300 * time.Millisecond,
	}
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	switch c.Backend {
	case "", BackendAuto, BackendPPSAPI, BackendGPIOCdev, BackendPeriph:
	default:
		return fmt.Errorf("pps.backend: %q is not one of auto, %s, %s, %s", c.Backend, BackendPPSAPI, BackendGPIOCdev, BackendPeriph)
	}
	switch c.Polarity {
	case "", PolarityRising, PolarityFalling, PolarityAuto:
	default:
		return fmt.Errorf("pps.polarity: %q is not one of rising, falling, auto", c.Polarity)
	}
	if c.Device == "" && c.Pin == "" {
		return errors.New("pps: set device or pin")
	}
	if c.Backend == BackendPPSAPI && c.Device == "" {
		return errors.New("pps.device: the pps-api backend needs a device")
	}
	if (c.Backend == BackendGPIOCdev || c.Backend == BackendPeriph) && c.Pin == "" {
		return fmt.Errorf("pps.pin: the %s backend needs a pin", c.Backend)
	}
	if c.CableDelayNs < 0 || c.CableDelayNs > int64(time.Millisecond) {
		return fmt.Errorf("pps.cable_delay_ns: %d outside 0..1000000", c.CableDelayNs)
	}
	if c.OffsetNs <= -int64(100*time.Millisecond) || c.OffsetNs >= int64(100*time.Millisecond) {
		return fmt.Errorf("pps.offset_ns: %d outside ±100 ms", c.OffsetNs)
	}
	if c.IntervalTolerance < 0 || c.IntervalTolerance > 100*time.Millisecond {
		return fmt.Errorf("pps.interval_tolerance: %v outside 0..100ms", c.IntervalTolerance)
	}
	if c.NearestWithin < 0 || c.NearestWithin > 450*time.Millisecond {
		return fmt.Errorf("pps.nearest_within: %v outside 0..450ms", c.NearestWithin)
	}
	return nil
}

// delay is the total lateness of the edge behind the second it marks.
func (c Config) delay() time.Duration {
	return time.Duration(c.CableDelayNs + c.OffsetNs)
}

func (c Config) tolerance() time.Duration {
	if c.IntervalTolerance <= 0 {
		return DefaultConfig().IntervalTolerance
	}
	return c.IntervalTolerance
}

func (c Config) nearestWithin() time.Duration {
	if c.NearestWithin <= 0 {
		return DefaultConfig().NearestWithin
	}
	return c.NearestWithin
}

func (c Config) polarity() string {
	if c.Polarity == "" {
		return PolarityRising
	}
	return c.Polarity
}
